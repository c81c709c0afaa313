// Chat page. Every chat form is a normal POST form (it works before this script
// loads); here the forms marked data-stream are sent with fetch (JSON + CSRF header)
// and the server-sent events are read from the response body:
//   conversation (a first question created it) -> status/queued -> sources -> token* -> done | error
// `done` carries the answer rendered and sanitized on the server, which replaces the
// streamed text. No inline scripts or styles: the page passes data- attributes.
(() => {
  const root = document.getElementById("chat");
  const form = document.getElementById("ask-form");
  const messages = document.getElementById("messages");
  if (!root || !form) return;
  const input = document.getElementById("question");
  const button = document.getElementById("ask-button");
  const stopButton = document.getElementById("stop-button");
  const status = document.getElementById("ask-status");
  const templates = document.getElementById("chat-templates").content;
  const csrf = form.querySelector("input[name=csrf_token]").value;
  const base = root.dataset.base; // "/chat/"
  let conversationId = root.dataset.conversationId || "";
  let controller = null;

  const url = (action) => `${base}${conversationId}/${action}`;

  function bubble(role, text) {
    const box = document.createElement("div");
    box.className = `message message-${role} mb-3`;
    const who = document.createElement("div");
    who.className = "small text-muted who";
    who.textContent = role === "user" ? "나" : "챗봇";
    const content = document.createElement("div");
    content.className = "content markdown streaming";
    content.textContent = text || "";
    box.append(who, content);
    messages.append(box);
    box.scrollIntoView({ block: "end" });
    return box;
  }

  function lastUserBox() {
    const users = messages.querySelectorAll(".message-user");
    return users[users.length - 1] || null;
  }

  // Everything after the last question (its old answer, a retry notice) goes.
  function clearAfterLastQuestion() {
    const last = lastUserBox();
    if (!last) return;
    while (last.nextElementSibling) last.nextElementSibling.remove();
  }

  function cloneTemplate(selector, action) {
    const node = templates.querySelector(selector).cloneNode(true);
    const target = node.matches("form") ? node : node.querySelector("form");
    target.action = url(action);
    return node;
  }

  function retryNotice(message) {
    messages.querySelectorAll(".retry-alert").forEach((n) => n.remove());
    const notice = cloneTemplate(".retry-alert", "regenerate");
    notice.querySelector(".retry-message").textContent = message;
    messages.append(notice);
    notice.scrollIntoView({ block: "end" });
  }

  function citationLink(s) {
    const link = document.createElement("a");
    link.className = "citation";
    link.href = s.url || `${base}documents/${s.document_id}/file#page=${s.page}`;
    link.target = "_blank";
    link.rel = "noopener";
    const place = s.title || s.filename;
    link.dataset.file = place;
    link.dataset.kind = s.kind || "";
    link.dataset.page = s.kind === "board" ? "" : String(s.page);
    link.dataset.snippet = s.snippet || "";
    link.textContent = s.kind === "board" ? place : `${place}, ${s.page}쪽`;
    return link;
  }

  function renderSources(box, sources) {
    box.querySelector(".sources")?.remove();
    if (!sources.length) return;
    const list = document.createElement("ol");
    list.className = "sources small";
    for (const s of sources) {
      const item = document.createElement("li");
      const snippet = document.createElement("span");
      snippet.className = "text-muted";
      snippet.textContent = ` — ${(s.snippet || "").slice(0, 120)}`;
      item.append(citationLink(s), snippet);
      list.append(item);
    }
    box.querySelector(".content").after(list);
  }

  function actions(box, messageId) {
    box.dataset.messageId = messageId;
    const bar = document.createElement("div");
    bar.className = "message-actions d-flex flex-wrap gap-1 align-items-center";
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
    messages.querySelectorAll(".message-actions .regenerate-form").forEach((f) => f.remove());
    bar.append(group, cloneTemplate(".regenerate-form", "regenerate"));
    box.append(bar);
  }

  // Only the last question can be edited.
  function editableLastQuestion() {
    messages.querySelectorAll(".edit-question").forEach((n) => n.remove());
    const last = lastUserBox();
    if (!last) return;
    const details = cloneTemplate(".edit-question", "edit");
    details.querySelector("textarea").value = last.querySelector(".content").textContent;
    last.append(details);
  }

  // --- copy button per answer (code blocks carry their own, see pybo.js) --------
  function decorate(box) {
    const bar = box.querySelector(".message-actions");
    if (!bar || bar.querySelector(".copy-answer")) return;
    const b = document.createElement("button");
    b.type = "button";
    b.className = "btn btn-sm btn-outline-secondary copy-answer";
    b.textContent = "복사";
    b.dataset.label = "복사";
    bar.append(b);
  }

  function answerText(box) {
    const content = box.querySelector(".content").cloneNode(true);
    content.querySelectorAll(".code-copy").forEach((b) => b.remove());
    document.body.append(content); // innerText needs a rendered node for line breaks
    content.classList.add("copy-buffer");
    const text = content.innerText.trim();
    content.remove();
    return text;
  }

  // --- streaming --------------------------------------------------------------
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

  function conversationCreated(data) {
    conversationId = String(data.id);
    root.dataset.conversationId = conversationId;
    form.action = url("ask");
    history.replaceState(null, "", `${base}?c=${conversationId}`);
    document.getElementById("empty-hint")?.remove();
    document.getElementById("no-conversations")?.remove();
    const list = document.getElementById("conversation-list");
    list.querySelectorAll("li.active").forEach((li) => {
      li.classList.remove("active");
      li.querySelector("a")?.classList.remove("text-white");
    });
    const item = document.createElement("li");
    item.className = "list-group-item px-1 active";
    item.dataset.id = conversationId;
    const link = document.createElement("a");
    link.className = "text-white text-decoration-none d-block text-truncate";
    link.href = `${base}?c=${conversationId}`;
    link.textContent = data.title;
    item.append(link);
    list.prepend(item);
    const title = document.getElementById("toolbar-title");
    if (title) title.textContent = data.title;
  }

  function finish(box, data, text) {
    const content = box.querySelector(".content");
    if (data.message_id == null) { // stopped before a word was said
      box.remove();
      retryNotice("답변을 중지했습니다.");
      return;
    }
    content.classList.remove("streaming");
    content.innerHTML = data.html; // rendered and sanitized on the server
    if (data.status === "stopped") box.querySelector(".who").textContent = "챗봇 (중단됨)";
    box.dataset.status = data.status;
    actions(box, data.message_id);
    decorate(box);
    if (!text) content.textContent = "";
  }

  function failed(box, text, message) {
    if (text) {
      box.querySelector(".who").textContent = "챗봇 (오류)";
    } else {
      box.remove(); // no empty 챗봇 bubble: the notice takes its place
    }
    retryNotice(message);
  }

  function busy(on) {
    button.disabled = on;
    stopButton.classList.toggle("d-none", !on);
    messages.querySelectorAll("form[data-stream] button").forEach((b) => { b.disabled = on; });
    if (!on) status.textContent = "";
  }

  async function send(action, body) {
    const box = bubble("assistant", "");
    const content = box.querySelector(".content");
    let text = "";
    let finished = false;
    controller = new AbortController();
    busy(true);
    status.textContent = "요청을 보내는 중…";
    const handle = (event, data) => {
      if (event === "conversation") {
        conversationCreated(data);
      } else if (event === "token") {
        text += data.text;
        content.textContent = text;
        status.textContent = "답변을 생성하는 중…";
      } else if (event === "status" || event === "queued") {
        status.textContent = data.text;
      } else if (event === "sources") {
        renderSources(box, data.sources);
      } else if (event === "done") {
        finished = true;
        finish(box, data, text);
      } else if (event === "error") {
        finished = true;
        failed(box, text, data.message);
      }
    };
    try {
      const response = await fetch(action, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "text/event-stream" },
        body: JSON.stringify(body),
        signal: controller.signal,
      });
      if (!response.ok || !response.body) {
        let message = `요청이 실패했습니다 (${response.status}).`;
        try { message = (await response.json()).error || message; } catch (e) { /* not JSON */ }
        throw new Error(message);
      }
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer = parseEvents(buffer + decoder.decode(value, { stream: true }), handle);
      }
      if (!finished) failed(box, text, "연결이 끊어졌습니다. 다시 시도해 주세요.");
    } catch (error) {
      if (!finished) {
        if (error.name === "AbortError" && text) {
          // Stopped by closing the connection (the stop request reached another server
          // process): the server keeps what was said as 중단됨, and so does the page.
          box.querySelector(".who").textContent = "챗봇 (중단됨)";
          box.querySelector(".content").classList.remove("streaming");
          const bar = document.createElement("div");
          bar.className = "message-actions d-flex flex-wrap gap-1 align-items-center";
          bar.append(cloneTemplate(".regenerate-form", "regenerate"));
          box.append(bar);
        } else {
          failed(box, text, error.name === "AbortError" ? "답변을 중지했습니다." : error.message);
        }
      }
    } finally {
      controller = null;
      busy(false);
      editableLastQuestion();
      input.focus();
    }
  }

  function scopeOf(target) {
    const scope = target.querySelector("#new-scope");
    if (!scope) return {};
    const values = (name) => [...scope.querySelectorAll(`input[name=${name}]:checked`)].map((i) => i.value);
    return { kinds: values("kinds"), document_ids: values("document_ids") };
  }

  document.addEventListener("submit", (event) => {
    const target = event.target.closest("form[data-stream]");
    if (!target || !root.contains(target)) return;
    event.preventDefault();
    if (controller) return;
    const kind = target.dataset.stream;
    if (kind === "ask") {
      const question = input.value.trim();
      if (!question) return;
      input.value = "";
      messages.querySelectorAll(".retry-alert, .edit-question").forEach((n) => n.remove());
      bubble("user", question).querySelector(".content").classList.remove("streaming");
      send(target.action, { question, ...scopeOf(target) });
    } else if (kind === "edit") {
      const question = target.querySelector("textarea").value.trim();
      if (!question) return;
      const last = lastUserBox();
      last.querySelector(".content").textContent = question;
      last.querySelector(".edit-question")?.remove();
      clearAfterLastQuestion();
      send(target.action, { question });
    } else if (kind === "regenerate") {
      clearAfterLastQuestion();
      send(target.action, {});
    }
  });

  // Enter sends, Shift+Enter breaks the line (not while composing Hangul).
  document.addEventListener("keydown", (event) => {
    const area = event.target;
    if (!(area instanceof HTMLTextAreaElement) || !area.form?.dataset.stream) return;
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      area.form.requestSubmit();
    }
  });

  stopButton.addEventListener("click", async () => {
    if (!controller) return;
    stopButton.disabled = true;
    status.textContent = "중지하는 중…";
    try {
      // The server stops the model and ends the stream with the partial answer.
      const response = await fetch(url("stop"), {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: "{}",
      });
      if (!conversationId || !response.ok || !(await response.json()).stopped) controller?.abort();
    } catch (error) {
      controller?.abort();
    } finally {
      stopButton.disabled = false;
    }
  });

  // --- citations side panel ---------------------------------------------------
  const panel = document.getElementById("citation-panel");
  function openCitation(link) {
    panel.querySelector(".citation-file").textContent = link.dataset.file;
    panel.querySelector(".citation-page").textContent =
      link.dataset.kind === "board" ? "게시판 글" : `${link.dataset.page}쪽`;
    panel.querySelector(".citation-snippet").textContent = link.dataset.snippet;
    const open = panel.querySelector(".citation-open");
    open.href = link.href;
    open.textContent = link.dataset.kind === "board" ? "게시판 글 열기" : `PDF ${link.dataset.page}쪽 열기`;
    window.bootstrap.Offcanvas.getOrCreateInstance(panel).show();
  }

  messages.addEventListener("click", async (event) => {
    const citation = event.target.closest("a.citation");
    if (citation && window.bootstrap && !event.ctrlKey && !event.metaKey) {
      event.preventDefault();
      openCitation(citation);
      return;
    }
    const copy = event.target.closest(".copy-answer");
    if (copy) {
      // copyText: pybo.js (navigator.clipboard, or a hidden textarea on http:// pages)
      copyText(answerText(copy.closest(".message"))).then(
        () => { copy.textContent = "복사됨"; },
        () => { copy.textContent = "복사하지 못했습니다"; },
      ).finally(() => {
        setTimeout(() => { copy.textContent = copy.dataset.label; }, 1500);
      });
      return;
    }
    const target = event.target.closest(".feedback button");
    if (!target) return;
    const box = target.closest("[data-message-id]");
    const feedbackUrl = form.dataset.feedbackUrl.replace(/\/0\/feedback$/, `/${box.dataset.messageId}/feedback`);
    const response = await fetch(feedbackUrl, {
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

  messages.querySelectorAll(".message-assistant").forEach(decorate);
  messages.lastElementChild?.scrollIntoView({ block: "end" });
})();
