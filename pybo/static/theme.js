// Colour mode (Bootstrap 5.3 `data-bs-theme` on <html>), loaded in <head> so the page is
// painted in the right theme. Follows the system until the reader picks one with the
// navbar toggle; the choice is remembered in localStorage.
(() => {
  const KEY = "pybo-theme";
  const system = window.matchMedia("(prefers-color-scheme: dark)");

  const stored = () => {
    try {
      const value = window.localStorage.getItem(KEY);
      return value === "dark" || value === "light" ? value : null;
    } catch (error) {
      return null; // storage disabled: follow the system
    }
  };
  let chosen = stored();
  const current = () => chosen || (system.matches ? "dark" : "light");

  const showToggle = () => {
    const theme = current();
    document.querySelectorAll("[data-theme-toggle]").forEach((button) => {
      const next = theme === "dark" ? "light" : "dark";
      button.dataset.themeNext = next;
      button.setAttribute("aria-pressed", theme === "dark" ? "true" : "false");
      const label = button.querySelector("[data-theme-label]") || button;
      label.textContent = next === "dark" ? button.dataset.labelDark : button.dataset.labelLight;
      button.title = label.textContent;
    });
  };
  const apply = () => {
    document.documentElement.setAttribute("data-bs-theme", current());
    showToggle();
  };

  apply();
  system.addEventListener("change", apply);
  window.addEventListener("storage", (event) => {
    if (event.key === KEY) {
      chosen = stored();
      apply();
    }
  });
  document.addEventListener("DOMContentLoaded", showToggle);
  document.addEventListener("click", (event) => {
    const button = event.target.closest && event.target.closest("[data-theme-toggle]");
    if (!button) return;
    chosen = button.dataset.themeNext === "light" ? "light" : "dark";
    try {
      window.localStorage.setItem(KEY, chosen);
    } catch (error) {
      // storage disabled: the choice lasts for this page only
    }
    apply();
  });
})();
