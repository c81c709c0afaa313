// Live ingestion progress on the documents page: polls the status endpoint while any
// document is pending or processing, and updates the rows without a reload.
(() => {
  const table = document.getElementById("documents");
  if (!table) return;
  const LABELS = { pending: "대기 중", processing: "처리 중", ready: "완료", failed: "실패" };
  const COLORS = { pending: "bg-secondary", processing: "bg-info", ready: "bg-success", failed: "bg-danger" };

  function render(doc) {
    const row = table.querySelector(`tr[data-id="${doc.id}"]`);
    if (!row) return;
    const badge = row.querySelector(".doc-status .badge");
    badge.textContent = LABELS[doc.status] || doc.status;
    badge.className = `badge ${COLORS[doc.status] || "bg-secondary"}`;
    row.dataset.status = doc.status;
    const bar = row.querySelector(".progress-bar");
    const detail = row.querySelector(".doc-detail");
    let percent = 0;
    let text = "";
    if (doc.status === "ready") {
      percent = 100;
      text = `${doc.pages_total}쪽, 청크 ${doc.chunks_total}개`;
    } else if (doc.status === "processing") {
      const pages = doc.pages_total ? doc.pages_done / doc.pages_total : 0;
      const chunks = doc.chunks_total ? doc.chunks_done / doc.chunks_total : 0;
      percent = Math.round((doc.chunks_total ? 0.2 + 0.8 * chunks : 0.2 * pages) * 100);
      text = `페이지 ${doc.pages_done}/${doc.pages_total}` +
        (doc.chunks_total ? `, 청크 ${doc.chunks_done}/${doc.chunks_total}` : "");
    } else if (doc.status === "failed") {
      text = doc.error || "실패";
    } else {
      text = "순서를 기다리는 중";
    }
    if (doc.warning) text += ` · ${doc.warning}`;
    bar.style.width = `${percent}%`;
    bar.classList.toggle("bg-danger", doc.status === "failed");
    detail.textContent = text;
  }

  async function poll() {
    try {
      const response = await fetch(table.dataset.statusUrl, { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(response.status);
      const data = await response.json();
      data.documents.forEach(render);
      const busy = data.documents.some((d) => d.status === "pending" || d.status === "processing");
      if (busy) setTimeout(poll, 1000);
    } catch (error) {
      setTimeout(poll, 5000);
    }
  }
  poll();
})();
