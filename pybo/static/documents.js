// Live ingestion progress on the documents page: polls the status endpoint while any
// document is pending or processing and updates the rows without a reload. The
// wording and percentages come from the server (Document.progress).
(() => {
  const table = document.getElementById("documents");
  if (!table) return;

  function render(doc) {
    const row = document.querySelector(`tr[data-id="${doc.id}"]`);
    if (!row) return;
    row.dataset.status = doc.status;
    const badge = row.querySelector(".doc-status .badge");
    badge.textContent = doc.label;
    badge.className = `badge status-${doc.status}`;
    const bar = row.querySelector(".progress-bar");
    bar.dataset.percent = String(doc.percent);
    bar.style.width = `${doc.percent}%`;
    bar.classList.toggle("bg-danger", doc.status === "failed");
    row.querySelector(".progress").setAttribute("aria-valuenow", String(doc.percent));
    row.querySelector(".doc-detail").textContent = doc.detail;
  }

  // Widths come from data-percent (no inline styles: the CSP forbids them).
  document.querySelectorAll(".progress-bar[data-percent]").forEach((bar) => {
    bar.style.width = `${bar.dataset.percent}%`;
  });

  const busy = () => [...document.querySelectorAll("tr[data-status]")].some(
    (row) => row.dataset.status === "pending" || row.dataset.status === "processing");

  async function poll() {
    try {
      const response = await fetch(table.dataset.statusUrl, { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(String(response.status));
      (await response.json()).documents.forEach(render);
      if (busy()) setTimeout(poll, 1000);
    } catch (error) {
      setTimeout(poll, 5000);
    }
  }
  if (busy()) setTimeout(poll, 500);
})();
