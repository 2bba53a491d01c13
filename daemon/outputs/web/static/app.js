// genrecast dashboard: /api/status once per connection, then /events (Server-Sent Events).
// No build step and nothing from elsewhere; charts are drawn on canvases.
"use strict";
(() => {
  const CARD_LIMIT = 16;           // more sources than this: the compact table by default
  const SPAN_S = 600;              // timeline: the last 10 minutes...
  const BUCKET_S = 2;              // ...in 2-s bars (the server keeps the same buckets)
  // No message for this long (the server pings every second): the daemon hangs or the network
  // is gone. A daemon that stops or dies closes the connection, which shows at once.
  const STALE_MS = 3500;
  const RECONNECT_MS = 1000;
  const RENDER_MS = 200;           // at most five redraws a second, however many events
  const PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#76b7b2",
                   "#edc948", "#ff9da7", "#9c755f", "#bab0ac"];
  const SILENCE_COLOUR = "#555b66";
  const $ = (id) => document.getElementById(id);

  const app = {
    labels: [], sources: new Map(), view: null, userView: null, sortKey: "name", sortDir: 1,
    selected: null, es: null, lastMessage: 0, connected: false, skewS: 0,
    model: "–", uptimeS: 0, uptimeAt: 0, windows: 0, dropped: 0, renderPending: false,
    firstRenderMs: null,
  };

  // -- data -------------------------------------------------------------------------------

  function source(name) {
    let s = app.sources.get(name);
    if (!s) {
      s = { name, state: "starting", detail: "", genre: null, confidence: null, level: null,
            silent: false, title: null, timeline: null, dom: null, dirty: true, spec: "" };
      app.sources.set(name, s);
      app.structureChanged = true;
    }
    return s;
  }

  function applyStatus(body) {
    const st = body.status || {};
    const dash = (body.dashboard || {}).sources || {};
    const snap = (body.snapshot || {}).sources || {};
    app.model = st.model || "–";
    app.uptimeS = st.uptime_s || 0;
    app.uptimeAt = performance.now();
    if ((body.dashboard || {}).labels && body.dashboard.labels.length) app.labels = body.dashboard.labels;
    const names = new Set([...Object.keys(st.sources || {}), ...Object.keys(dash)]);
    for (const name of [...app.sources.keys()]) {
      if (!names.has(name)) { app.sources.delete(name); app.structureChanged = true; }
    }
    let windows = 0, dropped = 0;
    for (const name of names) {
      const s = source(name), c = (st.sources || {})[name] || {}, d = dash[name] || {};
      s.state = c.state || d.state || s.state;
      s.node = c.node || s.node || "";  // genrecast cluster run: the node it runs on
      s.detail = d.detail || "";
      s.spec = d.spec || "";
      s.genre = d.genre !== undefined ? d.genre : ((snap[name] || {}).genre || null);
      s.confidence = d.confidence !== undefined ? d.confidence : null;
      s.level = d.level_dbfs !== undefined ? d.level_dbfs : null;
      s.silent = !!d.silent;
      s.title = d.stream_title || null;
      s.dirty = true;
      windows += c.windows_classified || 0;
      dropped += c.events_dropped || 0;
    }
    app.windows = windows;
    app.dropped = dropped;
  }

  function onEvent(kind, ev) {
    if (ev.time) app.skewS = 0.9 * app.skewS + 0.1 * (Date.parse(ev.time) / 1000 - Date.now() / 1000);
    if (kind === "heartbeat") {
      app.uptimeS = ev.uptime_s; app.uptimeAt = performance.now();
      let windows = 0, dropped = 0;
      for (const c of Object.values(ev.sources || {})) {
        windows += c.windows_classified || 0; dropped += c.events_dropped || 0;
      }
      app.windows = windows; app.dropped = dropped;
      scheduleRender();
      return;
    }
    if (!ev.source || ev.source === "*") return;
    const s = source(ev.source);
    if ("stream_title" in ev) s.title = ev.stream_title || null;
    if (kind === "status") {
      s.state = ev.state; s.detail = ev.detail || ""; s.spec = ev.spec || s.spec;
      if (ev.node) s.node = ev.node;
      s.stateEventTime = ev.time;
    } else if (kind === "genre") {
      s.genre = ev.genre; s.confidence = ev.confidence;
    } else if (kind === "prediction") {
      const labels = Object.keys(ev.probabilities || {});
      if (labels.join() !== app.labels.join()) { app.labels = labels; app.legendDirty = true; }
      s.genre = ev.genre;
      s.confidence = ev.genre && ev.smoothed && ev.genre in ev.smoothed ? ev.smoothed[ev.genre] : null;
      s.level = ev.rms_dbfs; s.silent = !!ev.silent;
      if (s.timeline) addPoint(s.timeline, Date.parse(ev.time) / 1000, Object.values(ev.probabilities), ev.genre);
    }
    s.dirty = true;
    scheduleRender();
  }

  function addPoint(tl, tS, probs, genre) {
    const b = Math.floor(tS / BUCKET_S);
    let p = tl.get(b);
    if (!p) { p = { sum: probs.map(() => 0), n: 0, genre: null }; tl.set(b, p); }
    probs.forEach((x, i) => { p.sum[i] += x; });
    p.n += 1; p.genre = genre;
    const oldest = b - SPAN_S / BUCKET_S;
    for (const k of tl.keys()) if (k < oldest) tl.delete(k);
  }

  async function watch(s) {
    if (s.timeline) return;
    s.timeline = new Map();
    try {
      const r = await fetch("/api/timeline?source=" + encodeURIComponent(s.name));
      if (!r.ok) return;
      const body = await r.json();
      for (const [t, probs, genre] of body.points) {
        const b = Math.floor(t / BUCKET_S);
        if (!s.timeline.has(b)) s.timeline.set(b, { sum: probs, n: 1, genre });
      }
      s.dirty = true; scheduleRender();
    } catch (e) { /* the next status load retries */ }
  }

  // -- connection ---------------------------------------------------------------------------

  function setConn(state, text) {
    const el = $("conn");
    if (el.dataset.state !== state) app.connSince = Date.now();
    el.dataset.state = state;
    el.textContent = text;
    document.body.classList.toggle("down", state === "down" || state === "stale");
    const banner = $("banner");
    banner.hidden = state === "live" || state === "connecting";
    if (!banner.hidden) banner.textContent = state === "stale"
      ? "no word from the daemon for 3 s; reconnecting…"
      : "the daemon is not reachable (stopped?); reconnecting every second…";
  }

  async function connect() {
    if (app.es) { app.es.close(); app.es = null; }
    let body;
    try {
      const r = await fetch("/api/status", { cache: "no-store" });
      if (!r.ok) throw new Error("HTTP " + r.status);
      body = await r.json();
    } catch (e) {
      setConn("down", "daemon unreachable");
      setTimeout(connect, RECONNECT_MS);
      return;
    }
    applyStatus(body);
    for (const s of app.sources.values()) s.timeline = null;  // fetched again for what is shown
    app.structureChanged = true;
    app.legendDirty = true;
    render();
    const sel = app.selected && app.sources.get(app.selected);
    if (sel) watch(sel);  // the open timeline, fetched again
    const es = app.es = new EventSource("/events");
    app.lastMessage = performance.now();
    es.onopen = () => { app.connected = true; app.lastMessage = performance.now(); setConn("live", "live"); };
    es.onerror = () => {
      if (app.es !== es) return;
      app.connected = false;
      setConn("down", "daemon unreachable");
      es.close(); app.es = null;
      setTimeout(connect, RECONNECT_MS);  // reload the state too: the daemon may have restarted
    };
    for (const kind of ["prediction", "genre", "status", "heartbeat", "ping"]) {
      es.addEventListener(kind, (m) => {
        app.lastMessage = performance.now();
        if (kind !== "ping") onEvent(kind, JSON.parse(m.data));
      });
    }
  }

  setInterval(() => {
    if (app.es && app.connected && performance.now() - app.lastMessage > STALE_MS) {
      app.connected = false;
      setConn("stale", "no contact");
      app.es.close(); app.es = null;
      setTimeout(connect, RECONNECT_MS);
    }
    if (app.uptimeAt) $("uptime").textContent = fmtDuration(app.uptimeS + (app.connected ? (performance.now() - app.uptimeAt) / 1000 : 0));
    for (const s of app.sources.values()) if (s.timeline) s.dirty = true;  // the timeline scrolls
    scheduleRender();
  }, 1000);

  // -- rendering ----------------------------------------------------------------------------

  function fmtDuration(s) {
    s = Math.max(0, Math.floor(s));
    const h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, sec = s % 60;
    return (h ? h + " h " : "") + (h || m ? m + " min " : "") + sec + " s";
  }
  const pct = (x) => (x === null || x === undefined ? "" : Math.round(x * 100) + "%");
  const dB = (x) => (x === null || x === undefined ? "–" : x.toFixed(1) + " dBFS");
  const meterWidth = (x) => (x === null || x === undefined ? 0 : Math.max(0, Math.min(100, (x + 80) / 80 * 100)));
  const colour = (label) => (label === "silence" ? SILENCE_COLOUR
    : PALETTE[Math.max(0, app.labels.indexOf(label)) % PALETTE.length]);

  function scheduleRender() {
    if (app.renderPending) return;
    app.renderPending = true;
    setTimeout(render, RENDER_MS);
  }

  function currentView() {
    return app.userView || (app.sources.size > CARD_LIMIT ? "table" : "cards");
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function buildCard(s) {
    const card = el("article", "card");
    card.dataset.source = s.name;
    const head = el("header");
    const name = el("h2", "", s.name);
    const state = el("span", "state");
    const detail = el("span", "detail"), node = el("span", "node");
    head.append(name, state, node, detail);
    const gl = el("div", "genre-line");
    const genre = el("span", "genre"), conf = el("span", "conf");
    gl.append(genre, conf);
    const ll = el("div", "level-line");
    const meter = el("div", "meter"), fill = el("div", "fill");
    meter.append(fill);
    const level = el("span", "level"), silence = el("span", "silence", "silence");
    ll.append(meter, level, silence);
    const title = el("div", "title");
    const canvas = el("canvas", "timeline");
    canvas.width = 600; canvas.height = 90;
    card.append(head, gl, ll, title, canvas);
    s.dom = { root: card, state, node, detail, genre, conf, fill, level, title, canvas };
    return card;
  }

  function buildRow(s) {
    const tr = el("tr");
    tr.dataset.source = s.name;
    const cells = ["name", "state", "genre", "conf", "level", "title"].map((c) => el("td", c));
    cells[0].textContent = s.name;
    const meter = el("span", "meter"), fill = el("span", "fill"), level = el("span", "level");
    meter.append(fill);
    cells[4].append(meter, level);
    tr.append(...cells);
    tr.addEventListener("click", () => select(s.name));
    s.dom = { root: tr, state: cells[1], node: null, detail: null, genre: cells[2], conf: cells[3],
              fill, level, title: cells[5], canvas: null };
    return tr;
  }

  function set(node, text) { if (node && node.textContent !== text) node.textContent = text; }

  function update(s) {
    const d = s.dom;
    if (!d) return;
    if (d.root.dataset.state !== s.state) s.stateShownAt = Date.now();  // event → page, for tests
    d.root.dataset.state = s.state;
    d.root.dataset.genre = s.genre || "";
    d.root.classList.toggle("silent", s.silent);
    set(d.state, s.state);
    d.root.dataset.node = s.node || "";
    if (d.node) set(d.node, s.node ? "on " + s.node : "");
    else d.state.title = s.node ? "on " + s.node : "";
    if (d.detail) { set(d.detail, s.detail); d.detail.title = s.spec; }
    set(d.genre, s.genre || "–");
    d.genre.style.color = s.genre ? colour(s.genre) : "";
    set(d.conf, pct(s.confidence));
    d.fill.style.width = meterWidth(s.level) + "%";
    set(d.level, dB(s.level));
    set(d.title, s.title ? "♪ " + s.title : "");
    if (d.canvas && s.timeline) drawTimeline(d.canvas, s.timeline);
  }

  function matches(s, q) {
    if (!q) return true;
    return (s.name + " " + s.state + " " + (s.genre || "") + " " + (s.title || "")).toLowerCase().includes(q);
  }

  function sortValue(s, key) {
    switch (key) {
      case "confidence": return s.confidence === null ? -1 : s.confidence;
      case "level": return s.level === null ? -999 : s.level;
      case "genre": return s.genre || "";
      case "title": return s.title || "";
      case "state": return s.state;
      default: return s.name;
    }
  }

  function sorted() {
    const list = [...app.sources.values()];
    const k = app.sortKey, dir = app.sortDir;
    list.sort((a, b) => {
      const x = sortValue(a, k), y = sortValue(b, k);
      return (x < y ? -1 : x > y ? 1 : 0) * dir || (a.name < b.name ? -1 : 1);  // ties: by name
    });
    return list;
  }

  function rebuild() {
    const view = currentView();
    app.view = view;
    $("cards").hidden = view !== "cards";
    $("table").hidden = view !== "table";
    $("view-toggle").textContent = view === "cards" ? "table view" : "card view";
    $("cards").replaceChildren();
    const tbody = $("table").tBodies[0];
    tbody.replaceChildren();
    const frag = document.createDocumentFragment();
    for (const s of sorted()) {
      frag.append(view === "cards" ? buildCard(s) : buildRow(s));
      s.dirty = true;
      if (view === "cards") watch(s);
    }
    (view === "cards" ? $("cards") : tbody).append(frag);
    for (const th of $("table").tHead.rows[0].cells) {
      th.classList.toggle("sorted", th.dataset.sort === app.sortKey);
      th.classList.toggle("desc", th.dataset.sort === app.sortKey && app.sortDir < 0);
    }
    applySearch();
    app.structureChanged = false;
  }

  function applySearch() {
    const q = $("search").value.trim().toLowerCase();
    for (const s of app.sources.values()) if (s.dom) s.dom.root.hidden = !matches(s, q);
  }

  function render() {
    app.renderPending = false;
    const t0 = performance.now();
    if (app.structureChanged || app.view !== currentView()) rebuild();
    if (app.legendDirty) drawLegend();
    set($("model"), app.model);
    set($("windows"), String(app.windows));
    set($("dropped"), String(app.dropped));
    set($("count"), String(app.sources.size));
    for (const s of app.sources.values()) {
      if (s.dirty) { update(s); s.dirty = false; }
    }
    const sel = app.selected && app.sources.get(app.selected);
    if (sel && sel.timeline) {
      drawTimeline($("detail-canvas"), sel.timeline);
      set($("detail-info"), sel.state + (sel.genre ? " · " + sel.genre + " " + pct(sel.confidence) : "")
        + (sel.title ? " · ♪ " + sel.title : ""));
    }
    if (app.firstRenderMs === null && app.sources.size) {
      app.firstRenderMs = performance.now() - t0;
      document.body.dataset.renderMs = app.firstRenderMs.toFixed(1);  // building the view
      document.body.dataset.loadedMs = performance.now().toFixed(1);  // since navigation
    }
    document.body.dataset.rendered = String(app.sources.size);
  }

  function drawLegend() {
    app.legendDirty = false;
    const legend = $("legend");
    legend.replaceChildren();
    for (const label of [...app.labels, "silence"]) {
      const item = el("span", "", label);
      const sw = el("i");
      sw.style.background = colour(label);
      item.prepend(sw);
      legend.append(item);
    }
  }

  function drawTimeline(canvas, tl) {
    const ctx = canvas.getContext("2d");
    const W = canvas.width, H = canvas.height, strip = 12, barH = H - strip - 2;
    ctx.clearRect(0, 0, W, H);
    const nowS = Date.now() / 1000 + app.skewS, start = nowS - SPAN_S;
    const bw = Math.max(1, W * BUCKET_S / SPAN_S);
    for (const [b, p] of tl) {
      const x = (b * BUCKET_S - start) / SPAN_S * W;
      if (x < -bw || x > W) continue;
      let y = barH;
      p.sum.forEach((v, i) => {
        const h = v / p.n * barH;
        ctx.fillStyle = PALETTE[i % PALETTE.length];
        ctx.fillRect(x, y - h, bw, h);
        y -= h;
      });
      if (p.genre) {
        ctx.fillStyle = colour(p.genre);
        ctx.fillRect(x, H - strip, bw, strip);
      }
    }
    ctx.fillStyle = "#9aa0a6";
    ctx.font = "10px sans-serif";
    ctx.fillText("−10 min", 2, 10);
    ctx.fillText("now", W - 22, 10);
  }

  function select(name) {
    const prev = app.selected && app.sources.get(app.selected);
    if (prev && prev.dom) prev.dom.root.classList.remove("selected");
    if (prev && app.view === "table") prev.timeline = null;
    app.selected = name;
    const s = app.sources.get(name);
    $("detail").hidden = !s;
    if (!s) return;
    if (s.dom) s.dom.root.classList.add("selected");
    set($("detail-name"), name);
    watch(s);
    scheduleRender();
  }

  // -- controls -----------------------------------------------------------------------------

  $("search").addEventListener("input", applySearch);
  $("view-toggle").addEventListener("click", () => {
    app.userView = currentView() === "cards" ? "table" : "cards";
    render();
  });
  $("detail-close").addEventListener("click", () => select(null));
  for (const th of $("table").tHead.rows[0].cells) {
    th.addEventListener("click", () => {
      app.sortDir = app.sortKey === th.dataset.sort ? -app.sortDir : 1;
      app.sortKey = th.dataset.sort;
      app.structureChanged = true;
      render();
    });
  }
  window.genrecast = app;  // for the curious (and the tests): the page's state
  connect();
})();
