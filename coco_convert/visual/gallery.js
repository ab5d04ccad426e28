// coco-convert gallery: inlined into the page (no external resources, no network).
"use strict";
(() => {
  const cards = Array.from(document.querySelectorAll("#cards > .card"));

  // --- overlays: each card's SVG is added from its data-svg when it comes near the viewport ---
  function overlay(card) {
    if (card.dataset.svg !== undefined) {
      card.querySelector(".view").insertAdjacentHTML("beforeend", card.dataset.svg);
      delete card.dataset.svg;
    }
  }
  const watcher = new IntersectionObserver(
    (entries) => {
      for (const entry of entries) {
        if (entry.isIntersecting) {
          overlay(entry.target);
          watcher.unobserve(entry.target);
        }
      }
    },
    { rootMargin: "1000px 0px" },
  );
  for (const card of cards) watcher.observe(card);
  const categoriesOf = new Map(cards.map((card) => [card, JSON.parse(card.dataset.categories)]));
  const buttons = Array.from(document.querySelectorAll("#filter button"));
  const shown = document.getElementById("shown");
  const selected = new Set();

  // --- category filter: cards holding any selected category; none selected shows all ---
  function applyFilter() {
    let count = 0;
    for (const card of cards) {
      const visible = selected.size === 0 || categoriesOf.get(card).some((c) => selected.has(c));
      card.hidden = !visible;
      if (visible) count += 1;
    }
    for (const button of buttons) {
      const name = button.dataset.cat;
      const on = name === "" ? selected.size === 0 : selected.has(name);
      button.setAttribute("aria-pressed", String(on));
    }
    shown.textContent = count.toLocaleString("en");
    const hash = selected.size ? "#cat=" + Array.from(selected, encodeURIComponent).join(",") : "";
    if (location.hash !== hash) {
      try {
        history.replaceState(null, "", hash || location.pathname + location.search);
      } catch (error) {
        // some browsers refuse history changes on file:// pages; the filter still works
      }
    }
  }

  for (const button of buttons) {
    button.addEventListener("click", () => {
      const name = button.dataset.cat;
      if (name === "") selected.clear();
      else if (selected.has(name)) selected.delete(name);
      else selected.add(name);
      applyFilter();
    });
  }

  function readHash() {
    selected.clear();
    const match = /^#cat=(.*)$/.exec(location.hash);
    if (match && match[1]) {
      for (const part of match[1].split(",")) selected.add(decodeURIComponent(part));
    }
    applyFilter();
  }
  window.addEventListener("hashchange", readHash);
  readHash();

  // --- hover: an annotation's id, category, area, crowd flag (and score) ---
  const tip = document.getElementById("tip");

  function describe(mark) {
    const d = mark.dataset;
    const parts = [];
    if (d.id !== undefined) parts.push("id " + d.id);
    parts.push(d.cat);
    if (d.area !== undefined) parts.push("area " + d.area);
    parts.push("iscrowd " + (d.iscrowd || "0"));
    if (d.score !== undefined) parts.push("score " + d.score);
    return parts.join(" \u00b7 ");
  }

  function placeTip(event) {
    const x = Math.min(event.clientX + 12, window.innerWidth - tip.offsetWidth - 4);
    const y = Math.min(event.clientY + 14, window.innerHeight - tip.offsetHeight - 4);
    tip.style.left = Math.max(x, 0) + "px";
    tip.style.top = Math.max(y, 0) + "px";
  }

  document.addEventListener("mouseover", (event) => {
    const mark = event.target instanceof Element ? event.target.closest("g.m") : null;
    if (!mark) {
      tip.hidden = true;
      return;
    }
    tip.textContent = describe(mark);
    tip.hidden = false;
    placeTip(event);
  });
  document.addEventListener("mousemove", (event) => {
    if (!tip.hidden) placeTip(event);
  });

  // --- click to enlarge: the overlay at full size, labels, a table of the annotations ---
  const lightbox = document.getElementById("lightbox");
  const stage = lightbox.querySelector(".stage");
  const info = lightbox.querySelector(".info");
  let current = null;

  function cell(row, text) {
    row.insertCell().textContent = text === undefined ? "" : text;
  }

  function details(card, view) {
    const box = document.createElement("div");
    const title = document.createElement("h2");
    title.textContent = card.dataset.file;
    const meta = document.createElement("p");
    meta.textContent = "id " + card.dataset.imageId + " \u00b7 " + card.dataset.size;
    box.append(title, meta);
    const captions = card.querySelector(".captions");
    if (captions) box.append(captions.cloneNode(true));
    const marks = Array.from(view.querySelectorAll("g.m"));
    if (marks.length) {
      const scored = marks.some((mark) => mark.dataset.score !== undefined);
      const columns = ["id", "category", "area", "iscrowd"].concat(scored ? ["score"] : []);
      const table = document.createElement("table");
      const head = table.createTHead().insertRow();
      for (const name of columns) {
        const th = document.createElement("th");
        th.textContent = name;
        head.append(th);
      }
      const body = table.createTBody();
      for (const mark of marks) {
        const row = body.insertRow();
        const d = mark.dataset;
        const values = [d.id, d.cat, d.area, d.iscrowd || "0"].concat(scored ? [d.score] : []);
        for (const value of values) cell(row, value);
        row.addEventListener("mouseenter", () => {
          mark.classList.add("hl");
          row.classList.add("on");
        });
        row.addEventListener("mouseleave", () => {
          mark.classList.remove("hl");
          row.classList.remove("on");
        });
      }
      box.append(table);
    }
    return box;
  }

  function open(card) {
    current = card;
    overlay(card);
    const view = card.querySelector(".view").cloneNode(true);
    const [width, height] = card.dataset.size.split("x").map(Number);
    const room = Math.max(window.innerWidth - 380, 200);
    const scale = Math.min(room / width, (window.innerHeight - 48) / height);
    view.style.width = Math.floor(width * scale) + "px";
    view.style.height = Math.floor(height * scale) + "px";
    const img = view.querySelector("img");
    if (img && card.dataset.src) {
      const thumbnail = img.src;
      img.onerror = () => {
        img.onerror = null;
        img.src = thumbnail;
      };
      img.src = card.dataset.src;
    }
    stage.replaceChildren(view);
    info.replaceChildren(details(card, view));
    lightbox.hidden = false;
    lightbox.querySelector(".close").focus();
  }

  function close() {
    lightbox.hidden = true;
    stage.replaceChildren();
    tip.hidden = true;
    if (current) current.focus();
  }

  function step(by) {
    const visible = cards.filter((card) => !card.hidden);
    const at = visible.indexOf(current);
    if (at >= 0 && visible[at + by]) open(visible[at + by]);
  }

  document.getElementById("cards").addEventListener("click", (event) => {
    const card = event.target instanceof Element ? event.target.closest(".card") : null;
    if (card) open(card);
  });
  lightbox.addEventListener("click", (event) => {
    if (event.target === lightbox || event.target.closest(".close")) close();
  });
  document.addEventListener("keydown", (event) => {
    if (!lightbox.hidden) {
      if (event.key === "Escape") close();
      else if (event.key === "ArrowRight") step(1);
      else if (event.key === "ArrowLeft") step(-1);
    } else if (event.key === "Enter" && document.activeElement?.classList.contains("card")) {
      open(document.activeElement);
    }
  });
})();
