// Ask before submitting forms marked with data-confirm (delete).
document.addEventListener("submit", (event) => {
  const message = event.target.dataset && event.target.dataset.confirm;
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});

// Copy buttons on code blocks (rendered by pybo/common/markdown.py), in board posts
// and in chat answers inserted later: one delegated handler.
function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    return navigator.clipboard.writeText(text);
  }
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.className = "position-fixed top-0 start-0 opacity-0";
  document.body.appendChild(area);
  area.select();
  const done = document.execCommand("copy");
  area.remove();
  return done ? Promise.resolve() : Promise.reject(new Error("copy failed"));
}

document.addEventListener("click", (event) => {
  const button = event.target.closest && event.target.closest(".code-copy");
  if (!button) {
    return;
  }
  const code = button.parentElement.querySelector("pre");
  if (!code) {
    return;
  }
  copyText(code.innerText.replace(/\n$/, "")).then(
    () => { button.textContent = button.dataset.copiedLabel || "복사됨"; },
    () => { button.textContent = "복사 실패"; },
  ).finally(() => {
    window.setTimeout(() => { button.textContent = button.dataset.copyLabel || "복사"; }, 1500);
  });
});

// Selects marked with data-autosubmit (the list's sort and 해결 filter) submit their form.
document.addEventListener("change", (event) => {
  const field = event.target;
  if (field.matches && field.matches("select[data-autosubmit]") && field.form) {
    field.form.requestSubmit ? field.form.requestSubmit() : field.form.submit();
  }
});
