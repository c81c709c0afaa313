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

// Upload: drag and drop onto the zone, several files at once, one request per file
// with a progress bar fed by XHR upload progress; when all are sent the page reloads
// and the rows above show the indexing progress. Without this script the form posts
// all the chosen files at once.
(() => {
  const form = document.getElementById("upload-form");
  if (!form) return;
  const input = document.getElementById("file");
  const zone = document.getElementById("drop-zone");
  const list = document.getElementById("upload-list");
  const button = document.getElementById("upload-button");

  ["dragenter", "dragover"].forEach((name) => zone.addEventListener(name, (event) => {
    event.preventDefault();
    zone.classList.add("drag-over");
  }));
  ["dragleave", "drop"].forEach((name) => zone.addEventListener(name, (event) => {
    event.preventDefault();
    zone.classList.remove("drag-over");
  }));
  zone.addEventListener("drop", (event) => {
    const files = [...event.dataTransfer.files];
    if (files.length) uploadAll(files);
  });

  function row(file) {
    const item = document.createElement("li");
    item.className = "mb-2 upload-item";
    const name = document.createElement("div");
    name.className = "small upload-name";
    name.textContent = file.name;
    const progress = document.createElement("div");
    progress.className = "progress";
    progress.setAttribute("role", "progressbar");
    progress.setAttribute("aria-label", `${file.name} 올리는 중`);
    progress.setAttribute("aria-valuemin", "0");
    progress.setAttribute("aria-valuemax", "100");
    progress.setAttribute("aria-valuenow", "0");
    const bar = document.createElement("div");
    bar.className = "progress-bar";
    bar.style.width = "0%";
    progress.append(bar);
    const note = document.createElement("div");
    note.className = "small text-muted upload-note";
    item.append(name, progress, note);
    list.append(item);
    return { item, progress, bar, note };
  }

  function send(file, view) {
    return new Promise((resolve) => {
      const data = new FormData();
      data.append("csrf_token", form.querySelector("input[name=csrf_token]").value);
      data.append("file", file, file.name);
      const shared = document.getElementById("upload-shared");
      if (shared?.checked) data.append("shared", "1");
      const xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.addEventListener("progress", (event) => {
        if (!event.lengthComputable) return;
        const percent = Math.round((event.loaded / event.total) * 100);
        view.bar.style.width = `${percent}%`;
        view.progress.setAttribute("aria-valuenow", String(percent));
      });
      xhr.addEventListener("load", () => {
        let message = xhr.status === 413 ? "파일이 너무 큽니다." : "올리지 못했습니다.";
        try { message = JSON.parse(xhr.responseText).results[0].message; } catch (e) { /* not JSON */ }
        const ok = xhr.status >= 200 && xhr.status < 300;
        view.bar.style.width = "100%";
        view.bar.classList.add(ok ? "bg-success" : "bg-danger");
        view.item.dataset.result = ok ? "ok" : "failed";
        view.note.textContent = message;
        resolve(ok);
      });
      xhr.addEventListener("error", () => {
        view.bar.classList.add("bg-danger");
        view.item.dataset.result = "failed";
        view.note.textContent = "연결이 끊어져 올리지 못했습니다.";
        resolve(false);
      });
      xhr.send(data);
    });
  }

  async function uploadAll(files) {
    button.disabled = true;
    list.replaceChildren();
    const views = files.map(row);
    const results = [];
    for (let i = 0; i < files.length; i += 1) results.push(await send(files[i], views[i]));
    button.disabled = false;
    input.value = "";
    // Uploaded files appear in the table below with their indexing progress.
    if (results.some(Boolean) && results.every(Boolean)) window.location.reload();
    else if (results.some(Boolean)) {
      const again = document.createElement("button");
      again.type = "button";
      again.className = "btn btn-sm btn-outline-primary";
      again.textContent = "색인 진행 보기";
      again.addEventListener("click", () => window.location.reload());
      list.append(again);
    }
  }

  form.addEventListener("submit", (event) => {
    const files = [...input.files];
    if (!files.length) return;
    event.preventDefault();
    uploadAll(files);
  });
})();
