// The board's assistant on question pages:
// - "비슷한 질문": on the question form, questions like the subject being typed
//   (debounced); on a question page, questions like it (itself excluded);
// - "AI 답변 작성 중…": polls the question's AI status and reloads when it changes.
(() => {
  const box = document.querySelector(".similar-questions");
  if (box) {
    const list = box.querySelector(".similar-list");
    const subject = document.getElementById("subject");
    let controller = null;
    let timer = null;

    function render(items) {
      list.replaceChildren();
      for (const item of items) {
        const li = document.createElement("li");
        li.className = "d-flex align-items-center gap-2 py-1";
        const link = document.createElement("a");
        link.href = item.url;
        link.textContent = item.subject;
        li.append(link);
        if (item.resolved) {
          const badge = document.createElement("span");
          badge.className = "badge text-bg-success";
          badge.textContent = "해결됨";
          li.append(badge);
        }
        const count = document.createElement("span");
        count.className = "small text-muted text-nowrap";
        count.textContent = `답변 ${item.answer_count}`;
        li.append(count);
        list.append(li);
      }
      box.classList.toggle("d-none", items.length === 0);
    }

    async function lookup(text) {
      controller?.abort();
      if (text.trim().length < 2) {
        render([]);
        return;
      }
      controller = new AbortController();
      const params = new URLSearchParams({ subject: text });
      if (box.dataset.exclude) params.set("exclude", box.dataset.exclude);
      try {
        const response = await fetch(`${box.dataset.url}?${params}`, {
          headers: { Accept: "application/json" },
          signal: controller.signal,
        });
        if (response.ok) render(await response.json());
      } catch (error) {
        if (error.name !== "AbortError") render([]);
      }
    }

    if (box.dataset.exclude) {
      lookup(box.dataset.subject || "");
    } else if (subject) {
      subject.addEventListener("input", () => {
        clearTimeout(timer);
        timer = setTimeout(() => lookup(subject.value), 350);
      });
      if (subject.value) lookup(subject.value);
    }
  }

  const status = document.getElementById("ai-status");
  if (status && ["queued", "running"].includes(status.dataset.status)) {
    const poll = async () => {
      try {
        const response = await fetch(status.dataset.url, { headers: { Accept: "application/json" } });
        if (response.ok) {
          const data = await response.json();
          if (!["queued", "running"].includes(data.status)) {
            window.location.reload();
            return;
          }
        }
      } catch (error) {
        /* the server is busy or restarting: try again */
      }
      setTimeout(poll, 3000);
    };
    setTimeout(poll, 3000);
  }
})();
