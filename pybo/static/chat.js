// Chat page: sends the question with fetch (POST + CSRF header), reads the
// server-sent events from the response body, and renders tokens as they arrive.
(() => {
  const form = document.getElementById("ask-form");
  const messages = document.getElementById("messages");
  if (!form) return;
  const input = document.getElementById("question");
  const button = document.getElementById("ask-button");
  const stopButton = document.getElementById("stop-button");
  const status = document.getElementById("ask-status");
  const csrf = form.querySelector("input[name=csrf_token]").value;
  let controller = null;

  function bubble(role, text) {
    const box = document.createElement("div");
    box.className = `message message-${role} mb-3`;
    const who = document.createElement("div");
    who.className = "small text-muted";
    who.textContent = role === "user" ? "나" : "챗봇";
    const content = document.createElement("div");
    content.className = "content markdown";
    content.style.whiteSpace = "pre-wrap";
    content.textContent = text || "";
    box.append(who, content);
    messages.append(box);
    box.scrollIntoView({ block: "end" });
    return box;
  }

  function renderSources(box, sources) {
    box.querySelector(".sources")?.remove();
    if (!sources.length) return;
    const list = document.createElement("ol");
    list.className = "sources small";
    for (const s of sources) {
      const item = document.createElement("li");
      const link = document.createElement("a");
      link.href = s.url || `/chat/documents/${s.document_id}/file#page=${s.page}`;
      link.target = "_blank";
      link.rel = "noopener";
      link.textContent = s.kind === "board" ? s.title : `${s.title || s.filename}, ${s.page}쪽`;
      const snippet = document.createElement("span");
      snippet.className = "text-muted";
      snippet.textContent = ` — ${s.snippet.slice(0, 120)}`;
      item.append(link, snippet);
      list.append(item);
    }
    box.append(list);
  }

  function feedbackButtons(box, messageId) {
    box.dataset.messageId = messageId;
    const group = document.createElement("div");
    group.className = "feedback btn-group btn-group-sm";
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", "답변 평가");
    for (const [value, label, cls] of [["up", "👍 도움됨", "success"], ["down", "👎 아님", "danger"]]) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = `btn btn-outline-${cls}`;
      b.dataset.value = value;
      b.setAttribute("aria-pressed", "false");
      b.textContent = label;
      group.append(b);
    }
    box.append(group);
  }

  function parseEvents(buffer, onEvent) {
    let index;
    while ((index = buffer.indexOf("\n\n")) >= 0) {
      const raw = buffer.slice(0, index);
      buffer = buffer.slice(index + 2);
      let event = "message";
      const data = [];
      for (const line of raw.split("\n")) {
        if (line.startsWith("event: ")) event = line.slice(7);
        else if (line.startsWith("data: ")) data.push(line.slice(6));
      }
      onEvent(event, data.length ? JSON.parse(data.join("\n")) : {});
    }
    return buffer;
  }

  async function ask(question) {
    bubble("user", question);
    const box = bubble("assistant", "");
    const content = box.querySelector(".content");
    let text = "";
    let finished = false;
    controller = new AbortController();
    button.disabled = true;
    stopButton.classList.remove("d-none");
    status.textContent = "요청을 보내는 중…";
    try {
      const response = await fetch(form.dataset.url, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "text/event-stream" },
        body: JSON.stringify({ question }),
        signal: controller.signal,
      });
      if (!response.ok || !response.body) {
        let message = `요청 실패 (${response.status})`;
        try { message = (await response.json()).error || message; } catch (e) { /* not JSON */ }
        throw new Error(message);
      }
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer = parseEvents(buffer + decoder.decode(value, { stream: true }), (event, data) => {
          if (event === "token") {
            text += data.text;
            content.textContent = text;
            status.textContent = "답변을 생성하는 중…";
          } else if (event === "status" || event === "queued") {
            status.textContent = data.text;
          } else if (event === "sources") {
            renderSources(box, data.sources);
          } else if (event === "done") {
            finished = true;
            content.style.whiteSpace = "";
            content.innerHTML = data.html; // sanitized on the server
            feedbackButtons(box, data.message_id);
            status.textContent = "";
          } else if (event === "error") {
            finished = true;
            status.textContent = data.message;
            box.classList.add("text-danger");
          }
        });
      }
      if (!finished) status.textContent = "연결이 끊어졌습니다. 다시 시도해 주세요.";
    } catch (error) {
      status.textContent = error.name === "AbortError" ? "중지했습니다." : error.message;
    } finally {
      controller = null;
      button.disabled = false;
      stopButton.classList.add("d-none");
      input.focus();
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const question = input.value.trim();
    if (!question || controller) return;
    input.value = "";
    ask(question);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  stopButton.addEventListener("click", () => controller?.abort());
  messages.addEventListener("click", async (event) => {
    const target = event.target.closest(".feedback button");
    if (!target) return;
    const box = target.closest("[data-message-id]");
    const url = form.dataset.feedbackUrl.replace(/\/0\/feedback$/, `/${box.dataset.messageId}/feedback`);
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ value: target.dataset.value }),
    });
    if (response.ok) {
      const { feedback } = await response.json();
      box.querySelectorAll(".feedback button").forEach((b) => {
        const on = (b.dataset.value === "up" && feedback === 1) || (b.dataset.value === "down" && feedback === -1);
        b.classList.toggle("active", on);
        b.setAttribute("aria-pressed", String(on));
      });
    }
  });
  messages.lastElementChild?.scrollIntoView({ block: "end" });
})();
