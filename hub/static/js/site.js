// ModelHub: small progressive enhancements; every page works without them.
(function () {
  "use strict";
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
  window.modelhub = { csrf };

  // Quick search (autocomplete) in the header.
  const input = document.querySelector("[data-quicksearch]");
  if (input) {
    const list = input.parentElement.querySelector(".quicksearch");
    let timer = null, last = "";
    const esc = (s) => s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const q = input.value.trim();
        if (!q || q === last) { if (!q) list.hidden = true; return; }
        last = q;
        try {
          const r = await fetch("/api/quicksearch?q=" + encodeURIComponent(q));
          const data = await r.json();
          const items = [];
          if (data.models.length) items.push('<li class="group">' + esc(list.dataset.models || "Models") + "</li>");
          for (const m of data.models) items.push('<li><a href="/' + esc(m.id) + '">' + esc(m.id) + "</a></li>");
          for (const u of data.users) items.push('<li><a href="/' + esc(u.user) + '">@' + esc(u.user) + "</a></li>");
          for (const o of data.orgs) items.push('<li><a href="/' + esc(o.name) + '">' + esc(o.name) + "</a></li>");
          const collections = data.collections || [];
          if (collections.length) items.push('<li class="group">' + esc(list.dataset.collections || "Collections") + "</li>");
          for (const c of collections) items.push('<li><a href="/collections/' + esc(c.slug) + '">' + esc(c.title) + "</a></li>");
          list.innerHTML = items.join("");
          list.hidden = items.length === 0;
        } catch (e) { list.hidden = true; }
      }, 150);
    });
    input.addEventListener("keydown", (ev) => {
      if (ev.key === "ArrowDown" && !list.hidden) { list.querySelector("a")?.focus(); ev.preventDefault(); }
      if (ev.key === "Escape") list.hidden = true;
    });
    list.addEventListener("keydown", (ev) => {
      const links = [...list.querySelectorAll("a")], i = links.indexOf(document.activeElement);
      if (ev.key === "ArrowDown" && i < links.length - 1) { links[i + 1].focus(); ev.preventDefault(); }
      if (ev.key === "ArrowUp") { (i > 0 ? links[i - 1] : input).focus(); ev.preventDefault(); }
      if (ev.key === "Escape") { list.hidden = true; input.focus(); }
    });
  }

  // A select that applies itself (the model list's sort order); <noscript> shows a button instead.
  document.addEventListener("change", (ev) => {
    if (ev.target.matches("select[data-autosubmit]") && ev.target.form) ev.target.form.submit();
  });

  // Copy buttons.
  document.addEventListener("click", (ev) => {
    const b = ev.target.closest("[data-copy]");
    if (!b) return;
    const target = document.querySelector(b.dataset.copy);
    if (target && navigator.clipboard) navigator.clipboard.writeText(target.innerText);
  });
})();
