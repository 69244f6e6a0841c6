// Keel console: progressive enhancement only. Every page and action works without this file.
// Loaded from /console/assets (no inline script: the Content-Security-Policy forbids it).

// Ask before destructive actions (forms with data-confirm).
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement)) return;
  const question = form.dataset.confirm;
  if (question && !window.confirm(question)) {
    event.preventDefault();
    return;
  }
  // One submission per click: a second would repeat the action.
  for (const button of form.querySelectorAll("button[type=submit]")) button.disabled = true;
});

// Copy a shown command (or a new token) with one click.
document.addEventListener("click", (event) => {
  const target = event.target;
  if (!(target instanceof HTMLElement) || !target.matches("code.cmd, code.secret")) return;
  navigator.clipboard?.writeText(target.textContent ?? "").then(
    () => target.classList.add("copied"),
    () => {},
  );
});
