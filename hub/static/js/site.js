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
    // A user or organization: an initial in a circle (no avatars are stored), the handle, the full name.
    const account = (href, handle, fullname) => {
      const initial = (fullname || handle).trim().charAt(0).toUpperCase();
      const full = fullname && fullname !== handle ? ' <span class="fullname">' + esc(fullname) + "</span>" : "";
      return '<li><a class="account" href="' + esc(href) + '"><span class="initial" aria-hidden="true">' + esc(initial)
        + "</span> " + esc(handle) + full + "</a></li>";
    };
    const group = (key, fallback) => '<li class="group" role="presentation">' + esc(list.dataset[key] || fallback) + "</li>";
    const suggest = () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const q = input.value.trim();
        if (!q || q === last) { if (!q) list.hidden = true; return; }
        last = q;
        try {
          const r = await fetch("/api/quicksearch?q=" + encodeURIComponent(q));
          const data = await r.json();
          if (input.value.trim() !== q) return;  // an older answer arriving after a newer query
          const items = [];
          if (data.models.length) items.push(group("models", "Models"));
          for (const m of data.models) items.push('<li><a href="/' + esc(m.id) + '">' + esc(m.id) + "</a></li>");
          if (data.users.length) items.push(group("users", "Users"));
          for (const u of data.users) items.push(account("/" + u.user, u.user, u.fullname));
          if (data.orgs.length) items.push(group("orgs", "Organizations"));
          for (const o of data.orgs) items.push(account("/" + o.name, o.name, o.fullname));
          const collections = data.collections || [];
          if (collections.length) items.push(group("collections", "Collections"));
          for (const c of collections) items.push('<li><a href="/collections/' + esc(c.slug) + '">' + esc(c.title) + "</a></li>");
          list.innerHTML = items.join("");
          list.hidden = items.length === 0;
        } catch (e) { list.hidden = true; }
      }, 150);
    };
    // A Chinese input method composes a word over several keystrokes: suggest for the word chosen
    // (compositionend), not for the pinyin letters typed on the way.
    input.addEventListener("input", (ev) => { if (!ev.isComposing) suggest(); });
    input.addEventListener("compositionend", suggest);
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

  // The model list's facets: on a phone they start closed behind a button (site.css), so that the
  // results come first; without this script they stay open.
  const facets = document.querySelector("[data-facets]");
  const facetsButton = facets && facets.querySelector("[data-facets-toggle]");
  if (facetsButton) {
    facets.classList.add("facets-js");
    facetsButton.addEventListener("click", () => {
      facetsButton.setAttribute("aria-expanded", String(facets.classList.toggle("open")));
    });
  }

  // A box that scrolls sideways (a wide card table, a long line of code) must be scrollable from the
  // keyboard too (WCAG 2.1.1, axe-core's scrollable-region-focusable): while its content overflows and
  // nothing inside it takes focus, it joins the tab order itself. Checked again when the width changes.
  const FOCUSABLE = "a[href], button, input, select, textarea, summary, [tabindex]";
  const reachScrollers = () => {
    for (const el of document.querySelectorAll("main pre, main table, main code, main div")) {
      const added = el.dataset.scrollFocus !== undefined;
      const scrolls = el.scrollWidth > el.clientWidth + 1 && /auto|scroll/.test(getComputedStyle(el).overflowX);
      if (scrolls && !added && !el.hasAttribute("tabindex") && !el.querySelector(FOCUSABLE)) {
        el.tabIndex = 0;
        el.dataset.scrollFocus = "";
      } else if (!scrolls && added) {
        el.removeAttribute("tabindex");
        delete el.dataset.scrollFocus;
      }
    }
  };
  reachScrollers();
  let resizeTimer = null;
  window.addEventListener("resize", () => { clearTimeout(resizeTimer); resizeTimer = setTimeout(reachScrollers, 200); });

  // A select that applies itself (the model list's sort order); <noscript> shows a button instead.
  document.addEventListener("change", (ev) => {
    if (ev.target.matches("select[data-autosubmit]") && ev.target.form) ev.target.form.submit();
  });

  // Copy buttons: data-copy names the element whose text (an input's value) is copied, data-copy-text
  // gives the text itself. Over plain HTTP by host name (http://modelhub.lan) the page is no secure
  // context and navigator.clipboard is undefined: the text is then selected in a scratch textarea and
  // copied with execCommand("copy"), which a click still allows. The button says what happened.
  const copyBySelection = (text) => {
    const area = document.createElement("textarea");
    area.className = "copy-scratch";
    area.value = text;
    area.setAttribute("readonly", "");
    area.setAttribute("aria-hidden", "true");
    document.body.appendChild(area);
    const focused = document.activeElement;
    area.select();
    let ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    area.remove();
    if (focused && focused.focus) focused.focus();
    return ok;
  };
  const say = (b, text) => {
    if (!text) return;
    if (b.dataset.label === undefined) b.dataset.label = b.textContent;
    b.textContent = text;
    clearTimeout(b.copyTimer);
    b.copyTimer = setTimeout(() => { b.textContent = b.dataset.label; }, 2500);
  };
  document.addEventListener("click", async (ev) => {
    const b = ev.target.closest("[data-copy], [data-copy-text]");
    if (!b) return;
    let text = b.dataset.copyText;
    if (text === undefined) {
      const target = document.querySelector(b.dataset.copy);
      if (!target) return;
      text = target.matches("input, textarea") ? target.value : target.innerText.replace(/\n$/, "");
    }
    let ok = false;
    if (navigator.clipboard && window.isSecureContext) {
      try { await navigator.clipboard.writeText(text); ok = true; } catch (e) { ok = false; }
    }
    if (!ok) ok = copyBySelection(text);
    if (!ok) {  // nothing could copy: select the text on the page, for Ctrl+C
      const target = b.dataset.copy && document.querySelector(b.dataset.copy);
      if (target && target.select) target.select();
      else if (target) window.getSelection().selectAllChildren(target);
    }
    say(b, ok ? b.dataset.copied : b.dataset.copyFailed);
  });
})();
