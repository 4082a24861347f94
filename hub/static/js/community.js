// Community pages: small enhancements; every form works without them.
(function () {
  "use strict";
  // Ctrl/Cmd+Enter submits a comment (new or edited).
  document.addEventListener("keydown", (ev) => {
    if (ev.key !== "Enter" || !(ev.ctrlKey || ev.metaKey)) return;
    const area = ev.target.closest && ev.target.closest("textarea");
    if (area && area.form) { ev.preventDefault(); area.form.requestSubmit(); }
  });
  // Opening a popover (edit, hide, report) focuses its first field; Escape closes it.
  document.querySelectorAll("details.popover").forEach((d) => {
    d.addEventListener("toggle", () => {
      if (!d.open) return;
      document.querySelectorAll("details.popover[open]").forEach((o) => { if (o !== d) o.open = false; });
      const field = d.querySelector("textarea, input:not([type=hidden]), button");
      if (field) field.focus();
    });
    d.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape") { d.open = false; d.querySelector("summary").focus(); }
    });
  });
  // "Close" becomes "Comment and close" while the comment box has text (both are sent).
  document.querySelectorAll("[data-label-with-comment]").forEach((btn) => {
    const area = btn.form && btn.form.querySelector("textarea");
    if (!area) return;
    const plain = btn.textContent.trim();
    const update = () => { btn.textContent = area.value.trim() ? btn.dataset.labelWithComment : plain; };
    area.addEventListener("input", update);
    update();
  });
  // On a narrow screen the repository tabs scroll: keep the current one in view.
  const current = document.querySelector(".tabs [aria-current=page]");
  if (current && current.parentElement.scrollWidth > current.parentElement.clientWidth) {
    current.parentElement.scrollLeft = current.offsetLeft - 16;
  }
  // Forms submit once (no double posts on a slow network).
  document.addEventListener("submit", (ev) => {
    const f = ev.target;
    if (f.dataset.sent) { ev.preventDefault(); return; }
    f.dataset.sent = "1";
    setTimeout(() => { delete f.dataset.sent; }, 4000);
  });
})();
