// ModelHub publishing pages: upload progress, live model card preview,
// delete confirmation. Every form works without this file; it only makes them nicer.
(function () {
  "use strict";
  const script = document.currentScript;
  const t = (key, fallback) => (script && script.dataset["i18n" + key]) || fallback;
  const csrf = () => (window.modelhub && window.modelhub.csrf) ||
    document.querySelector('meta[name="csrf-token"]')?.content || "";
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  const human = (n) => {
    const units = ["B", "kB", "MB", "GB", "TB"];
    let i = 0;
    while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
    return (i ? n.toFixed(1) : n) + " " + units[i];
  };

  // ---- upload: XHR with a progress bar (the plain form post works without it) ----
  const upload = document.querySelector("form[data-upload]");
  if (upload) {
    const input = upload.querySelector("[data-files]");
    const list = upload.querySelector("[data-file-list]");
    const box = upload.querySelector("[data-progress]");
    const bar = box.querySelector("progress");
    const text = box.querySelector("[data-progress-text]");
    const submit = upload.querySelector("[data-submit]");
    const formError = document.querySelector("[data-form-error]");

    input?.addEventListener("change", () => {
      const files = [...input.files];
      list.innerHTML = files.map((f) => "<li><span>" + esc(f.name) + '</span> <span class="meta">' + human(f.size) + "</span></li>").join("");
      list.hidden = files.length === 0;
    });

    const clearErrors = () => {
      upload.querySelectorAll(".field-error[data-js]").forEach((e) => e.remove());
      upload.querySelectorAll(".has-error").forEach((e) => e.classList.remove("has-error"));
      formError.hidden = true;
    };
    const showErrors = (errors, message) => {
      for (const [name, msgs] of Object.entries(errors || {})) {
        const el = upload.querySelector('[name="' + name + '"]');
        const wrap = el?.closest(".field");
        if (!wrap) continue;
        wrap.classList.add("has-error");
        for (const m of msgs) {
          const p = document.createElement("p");
          p.className = "field-error"; p.dataset.js = "1"; p.setAttribute("role", "alert"); p.textContent = m;
          wrap.appendChild(p);
        }
      }
      if (message) { formError.textContent = message; formError.hidden = false; }
    };

    upload.addEventListener("submit", (ev) => {
      if (!window.FormData || !window.XMLHttpRequest) return;
      ev.preventDefault();
      clearErrors();
      const xhr = new XMLHttpRequest();
      xhr.open("POST", upload.action);
      xhr.setRequestHeader("X-CSRFToken", csrf());
      xhr.setRequestHeader("Accept", "application/json");
      box.hidden = false; bar.removeAttribute("value");
      text.textContent = t("Uploading", "Uploading… {p}").replace("{p}", "0%");
      submit.disabled = true;
      xhr.upload.onprogress = (e) => {
        if (!e.lengthComputable) return;
        const pct = Math.floor((e.loaded / e.total) * 100);
        bar.max = 100; bar.value = pct;
        text.textContent = t("Uploading", "Uploading… {p}").replace("{p}", pct + "% (" + human(e.loaded) + " / " + human(e.total) + ")");
      };
      xhr.upload.onload = () => { bar.removeAttribute("value"); text.textContent = t("Processing", "Upload complete, committing…"); };
      xhr.onload = () => {
        let data = null;
        try { data = JSON.parse(xhr.responseText); } catch (e) { /* an HTML error page */ }
        if (xhr.status < 300 && data && data.redirect) { window.location.assign(data.redirect); return; }
        submit.disabled = false; box.hidden = true;
        if (data) showErrors(data.errors, data.message);
        else showErrors({}, xhr.status === 400 ? t("Failed", "The upload failed.") + " (400)" : t("Failed", "The upload failed.") + " (" + xhr.status + ")");
      };
      xhr.onerror = () => { submit.disabled = false; box.hidden = true; showErrors({}, t("Failed", "The upload failed.")); };
      xhr.send(new FormData(upload));
    });
  }

  // ---- editor: debounced live preview, clickable line numbers ----
  const editor = document.querySelector("form[data-editor]");
  const source = editor?.querySelector("[data-preview-source]");
  const gotoLine = (line) => {
    if (!source) return;
    const lines = source.value.split("\n");
    let start = 0;
    for (let i = 0; i < Math.min(line - 1, lines.length); i++) start += lines[i].length + 1;
    const end = start + (lines[line - 1] || "").length;
    source.focus();
    source.setSelectionRange(start, end);
    const lh = parseFloat(getComputedStyle(source).lineHeight) || 20;
    source.scrollTop = Math.max(0, (line - 3) * lh);
  };
  document.addEventListener("click", (ev) => {
    const b = ev.target.closest("[data-line]");
    if (b) { ev.preventDefault(); gotoLine(parseInt(b.dataset.line, 10)); }
  });
  if (editor && source && editor.dataset.previewUrl) {
    const out = document.querySelector("[data-preview]");
    const problems = document.querySelector("[data-problems]");
    const status = document.querySelector("[data-preview-status]");
    let timer = null, seq = 0, lastSent = null;
    const items = (list, kind) => list.map((p) =>
      '<li class="' + kind + '">' +
      (p.line ? '<button type="button" class="link" data-line="' + p.line + '">' + esc(t("Line", "Line {n}").replace("{n}", p.line)) + "</button> " : "") +
      (p.field ? "<code>" + esc(p.field) + "</code> " : "") + "<span>" + esc(p.message) + "</span></li>").join("");
    const renderProblems = (data) => {
      if (!problems) return;
      let html = "";
      if (data.errors.length) html += '<p class="field-error"><strong>' + esc(t("Errors", "Metadata errors:")) + "</strong></p><ul>" + items(data.errors, "error") + "</ul>";
      if (data.warnings.length) html += '<p class="warn-title"><strong>' + esc(t("Warnings", "Warnings:")) + "</strong></p><ul>" + items(data.warnings, "warning") + "</ul>";
      if (!html) html = '<p class="ok">' + esc(t("Valid", "The card metadata is valid.")) + "</p>";
      problems.innerHTML = html;
      const field = source.closest(".field");
      field.classList.toggle("has-error", data.errors.length > 0);
      if (data.errors.length) source.setAttribute("aria-invalid", "true"); else source.removeAttribute("aria-invalid");
    };
    const refresh = async () => {
      const text = source.value;
      if (text === lastSent) return;
      lastSent = text;
      const mine = ++seq;
      if (status) status.textContent = t("Updating", "updating…");
      try {
        const r = await fetch(editor.dataset.previewUrl, {
          method: "POST", credentials: "same-origin",
          headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf() },
          body: JSON.stringify({ text, path: editor.dataset.path, rev: editor.dataset.rev }),
        });
        const data = await r.json();
        if (mine !== seq) return; // a newer request is on its way
        if (!r.ok) throw new Error(data.error || r.status);
        out.innerHTML = data.html; // sanitized by the server (nh3), like the model page
        renderProblems(data);
        if (status) status.textContent = "";
      } catch (e) {
        if (mine === seq && status) status.textContent = t("Offline", "preview unavailable");
        lastSent = null;
      }
    };
    source.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(refresh, 350); });
    lastSent = source.value; // the server rendered this text's preview already
  }

  // ---- move or delete a repository: the button waits for the exact name ----
  for (const form of document.querySelectorAll("form[data-confirm-name]")) {
    const input = form.querySelector('input[name="confirm"], input[name$="-confirm"]');
    const button = form.querySelector("[data-confirm-button]");
    const sync = () => { button.disabled = input.value.trim() !== form.dataset.confirmName; };
    input.addEventListener("input", sync);
    sync();
  }
})();
