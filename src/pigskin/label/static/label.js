// pigskin label: the page. Plain JS, no build step, no network beyond this server.
//
// The page owns the drawing; every change is queued as the whole state of one frame and sent at
// once (PUT /api/frames/{i}/label). The queue survives a dead server (retries, "offline" banner)
// and a closed page (mirrored in localStorage), so at most the box being drawn can be lost.
"use strict";

(() => {
  const CLASS_COLORS = ["#ffd60a", "#ff5fa2", "#7cf29c", "#4cc9f0", "#c77dff", "#ff9f1c", "#f15bb5", "#9ef01a", "#00bbf9"];
  const PROPOSAL_COLOR = "#ff8c42";
  const TRACKER_COLOR = "#b388ff";
  const HANDLE = 6; // px on screen
  const MIN_BOX = 2; // px in the image
  const PREFETCH = 3; // frames ahead and behind
  const CACHE_LIMIT = 14; // decoded images kept

  const $ = (id) => document.getElementById(id);
  const imageLayer = $("image-layer");
  const overlay = $("overlay-layer");
  const loupe = $("loupe");
  const stage = $("stage");
  const ictx = imageLayer.getContext("2d");
  const octx = overlay.getContext("2d");
  const lctx = loupe.getContext("2d");

  const S = {
    job: null, // /api/job
    pos: 0, // position in job.frames (the walk order)
    frame: null, // /api/frames/{i} of the current frame
    img: null, // decoded ImageBitmap of what is shown
    view: { scale: 1, ox: 0, oy: 0 },
    states: new Map(), // frame index -> {boxes, no_ball} | null (local truth once loaded)
    undo: new Map(), // frame index -> [states]
    redo: new Map(),
    selected: -1, // index into the current boxes
    cls: 0, // class for new boxes
    drag: null, // {kind: draw|move|resize, ...}
    mouse: null, // {x, y} in image px while over the stage
    loupeOn: true,
    zoom: 4,
    peek: 0, // offset of the neighbouring frame shown instead of this one
    hoverProposal: -1,
    switchStart: 0,
    switchTimes: [], // ms from keypress to frame drawn, for the browser test and for curious users
    online: true,
  };
  const images = new Map(); // frame index -> Promise<ImageBitmap>
  const frameData = new Map(); // frame index -> Promise<frame json>
  const staleData = new Set(); // frames whose proposals changed since they were fetched

  // -- small helpers -------------------------------------------------------------------------
  const clone = (x) => JSON.parse(JSON.stringify(x));
  const curIndex = () => (S.job ? S.job.frames[S.pos].index : -1);
  const curState = () => S.states.get(curIndex()) || { boxes: [], no_ball: false };
  const color = (c) => CLASS_COLORS[c % CLASS_COLORS.length];
  function iou(a, b) {
    const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
    const h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
    if (w <= 0 || h <= 0) return 0;
    const inter = w * h;
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
  }
  const toScreen = (x, y) => [S.view.ox + x * S.view.scale, S.view.oy + y * S.view.scale];
  const toImage = (sx, sy) => [(sx - S.view.ox) / S.view.scale, (sy - S.view.oy) / S.view.scale];
  function defaultAttrs() {
    const out = {};
    for (const [k, v] of Object.entries(S.job.attributes)) out[k] = v[0];
    return out;
  }
  function clampBox(b) {
    const W = S.frame.width, H = S.frame.height;
    let [x1, y1, x2, y2] = b;
    [x1, x2] = [Math.max(0, Math.min(x1, x2)), Math.min(W, Math.max(x1, x2))];
    [y1, y2] = [Math.max(0, Math.min(y1, y2)), Math.min(H, Math.max(y1, y2))];
    return [x1, y1, x2, y2].map((v) => Math.round(v * 8) / 8); // the server keeps 1/8 px too
  }

  // -- the save queue --------------------------------------------------------------------------
  const storeKey = () => `pigskin-label:${S.job.out}`;
  const pending = new Map(); // frame index -> {state, changes}
  let inflight = false;
  let retryDelay = 300;
  let retryTimer = null;

  function persistPending() {
    try {
      const obj = {};
      for (const [i, p] of pending) obj[i] = p;
      if (pending.size) localStorage.setItem(storeKey(), JSON.stringify(obj));
      else localStorage.removeItem(storeKey());
    } catch (e) { /* private mode: the queue still lives in memory */ }
  }
  function restorePending() {
    let obj = null;
    try { obj = JSON.parse(localStorage.getItem(storeKey()) || "null"); } catch (e) { obj = null; }
    if (!obj) return;
    for (const [k, p] of Object.entries(obj)) {
      const i = Number(k);
      pending.set(i, p);
      S.states.set(i, p.state);
    }
  }
  function unsavedChanges() {
    let n = 0;
    for (const p of pending.values()) n += p.changes;
    return n;
  }
  function enqueue(i, state) {
    const prev = pending.get(i);
    pending.set(i, { state: clone(state), changes: (prev ? prev.changes : 0) + 1 });
    persistPending();
    showStatus();
    flush();
  }
  async function flush() {
    if (inflight) return;
    clearTimeout(retryTimer);
    while (pending.size) {
      const [i, item] = pending.entries().next().value;
      inflight = true;
      showStatus();
      let res;
      try {
        res = await fetch(`/api/frames/${i}/label`, {
          method: "PUT",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify(item.state),
        });
      } catch (e) {
        res = null;
      }
      inflight = false;
      if (!res || res.status >= 500) {
        setOnline(false);
        retryTimer = setTimeout(flush, retryDelay);
        retryDelay = Math.min(retryDelay * 2, 2000);
        return;
      }
      setOnline(true);
      retryDelay = 300;
      if (pending.get(i) === item) pending.delete(i); // else changed meanwhile: send the newer one
      persistPending();
      if (res.ok) {
        const body = await res.json();
        S.job.labelled = body.labelled;
        markLabelled(i, body.label);
        onSaved(i);
      } else {
        const text = await res.text();
        console.error(`frame ${i} was not saved: ${text}`);
        showError(`frame ${i} not saved: ${text}`);
      }
      showStatus();
    }
  }
  function setOnline(on) {
    if (S.online !== on) {
      S.online = on;
      showStatus();
    }
  }
  function showStatus() {
    const pill = $("save-status");
    const banner = $("offline");
    const n = unsavedChanges();
    if (!S.online) {
      pill.className = "pill bad";
      pill.textContent = "offline";
      banner.hidden = false;
      banner.textContent = `offline — ${n} change${n === 1 ? "" : "s"} not saved; retrying, keep this page open`;
    } else {
      banner.hidden = true;
      pill.className = n || inflight ? "pill saving" : "pill ok";
      pill.textContent = n || inflight ? "saving…" : "saved";
    }
  }
  function showError(text) {
    const banner = $("offline");
    banner.hidden = false;
    banner.textContent = text;
    setTimeout(showStatus, 6000);
  }
  window.addEventListener("beforeunload", (e) => {
    if (pending.size) {
      e.preventDefault();
      e.returnValue = "";
    }
  });

  function markLabelled(i, label) {
    const entry = S.job.frames.find((f) => f.index === i);
    if (entry) {
      entry.labelled = label !== null;
      entry.no_ball = !!(label && label.no_ball);
    }
    drawTimeline();
    showProgress();
  }
  function onSaved(i) {
    // the tracker's proposal for the next frame depends on this one: fetch it again (the old copy
    // stays as a fallback for when the server is gone)
    staleData.add(i + 1);
    if (curIndex() === i + 1) refreshProposals();
  }

  // -- loading frames --------------------------------------------------------------------------
  function loadImage(i) {
    // an ImageBitmap holds the decoded pixels: drawing it never waits for a JPEG decode
    if (!images.has(i)) {
      const p = fetch(`/api/frames/${i}/image`).then((r) => {
        if (!r.ok) throw new Error(`frame ${i}: HTTP ${r.status}`);
        return r.blob();
      }).then((blob) => createImageBitmap(blob));
      p.catch(() => images.delete(i));
      images.set(i, p);
    }
    return images.get(i);
  }
  function loadData(i) {
    if (!frameData.has(i) || staleData.has(i)) {
      const old = staleData.has(i) ? frameData.get(i) : null;
      staleData.delete(i);
      const p = fetch(`/api/frames/${i}`).then((r) => {
        if (!r.ok) throw new Error(`frame ${i}: HTTP ${r.status}`);
        return r.json();
      }).catch((e) => {
        if (old) {
          frameData.set(i, old);
          staleData.add(i);
          return old;
        }
        frameData.delete(i);
        throw e;
      });
      frameData.set(i, p);
    }
    return frameData.get(i);
  }
  function prefetch() {
    const order = S.job.frames;
    const keep = new Set();
    for (let d = -PREFETCH; d <= PREFETCH; d++) {
      const k = S.pos + d;
      if (k < 0 || k >= order.length) continue;
      keep.add(order[k].index);
      loadImage(order[k].index).catch(() => {}); // a failed prefetch is retried when needed
      if (d > 0 && d <= 2) loadData(order[k].index).catch(() => {});
    }
    if (images.size > CACHE_LIMIT) {
      for (const [i, p] of images) {
        if (keep.has(i) || images.size <= CACHE_LIMIT || i === curIndex()) continue;
        images.delete(i);
        p.then((bm) => { if (bm !== S.img && bm !== S.peekImg) bm.close(); }).catch(() => {});
      }
    }
  }
  async function refreshProposals() {
    const i = curIndex();
    try {
      const data = await loadData(i);
      if (curIndex() === i) {
        S.frame.proposals = data.proposals;
        render();
      }
    } catch (e) { /* offline: keep what we have */ }
  }

  async function go(pos, started) {
    if (!S.job || pos < 0 || pos >= S.job.frames.length) return;
    S.switchStart = started || performance.now();
    if (S.drag && S.drag.orig) S.states.get(curIndex()).boxes[S.drag.k].xyxy = S.drag.orig; // drop a half-done move
    S.pos = pos;
    S.peek = 0;
    S.peekImg = null;
    S.selected = -1;
    S.drag = null;
    S.hoverProposal = -1;
    const i = curIndex();
    let img, data;
    try {
      [img, data] = await Promise.all([loadImage(i), loadData(i)]);
    } catch (e) {
      setOnline(false);
      $("frame-name").textContent = `${S.job.frames[pos].name}: not loaded (is the server running?)`;
      return;
    }
    if (curIndex() !== i) return; // the labeller moved on meanwhile
    S.img = img;
    S.frame = data;
    if (!S.states.has(i)) S.states.set(i, data.label ? { boxes: data.label.boxes, no_ball: data.label.no_ball } : null);
    layout();
    render();
    drawTimeline();
    const t0 = S.switchStart;
    requestAnimationFrame(() => S.switchTimes.push(performance.now() - t0)); // when it reaches the screen
    prefetch();
  }

  // -- edits -----------------------------------------------------------------------------------
  function commit(newState) {
    const i = curIndex();
    const before = S.states.get(i) || null;
    if (!S.undo.has(i)) S.undo.set(i, []);
    S.undo.get(i).push(clone(before));
    S.redo.set(i, []);
    setState(i, newState);
  }
  function setState(i, state) {
    S.states.set(i, state ? clone(state) : null);
    enqueue(i, state ? { boxes: state.boxes, no_ball: state.no_ball } : { boxes: [], no_ball: false });
    render();
  }
  function undoRedo(from, to) {
    const i = curIndex();
    const stack = from.get(i);
    if (!stack || !stack.length) return;
    if (!to.has(i)) to.set(i, []);
    to.get(i).push(clone(S.states.get(i) || null));
    S.selected = -1;
    setState(i, stack.pop());
  }
  function withBoxes(fn) {
    const st = clone(curState());
    fn(st.boxes);
    st.no_ball = false;
    commit(st);
  }
  function addBox(xyxy, cls, source, confidence) {
    withBoxes((boxes) => {
      boxes.push({ xyxy: clampBox(xyxy), class_id: cls, source, confidence, attrs: defaultAttrs() });
      S.selected = boxes.length - 1;
    });
  }
  function visibleProposals() {
    if (!S.frame) return [];
    const boxes = curState().boxes;
    return S.frame.proposals
      .map((p, k) => ({ ...p, k }))
      .filter((p) => !boxes.some((b) => iou(b.xyxy, p.xyxy) >= 0.5));
  }
  function accept(k) {
    const props = visibleProposals();
    const p = k === undefined ? (props.find((q) => q.k === S.hoverProposal) || props[0]) : props.find((q) => q.k === k);
    if (!p) return;
    addBox(p.xyxy, p.class_id, "accepted", p.score === null ? 1 : p.score);
  }
  function toggleNoBall() {
    const st = curState();
    S.selected = -1;
    commit(st.no_ball && !st.boxes.length ? null : { boxes: [], no_ball: true });
  }
  function deleteSelected() {
    if (S.selected < 0) return;
    const k = S.selected;
    S.selected = -1;
    withBoxes((boxes) => boxes.splice(k, 1));
  }
  function setClass(c) {
    if (c >= S.job.classes.length) return;
    S.cls = c;
    if (S.selected >= 0) {
      const k = S.selected;
      withBoxes((boxes) => {
        boxes[k].class_id = c;
        if (boxes[k].source === "accepted") boxes[k].source = "corrected";
      });
    }
    renderPanel();
  }
  function setAttr(name, value) {
    if (S.selected < 0) return;
    const k = S.selected;
    withBoxes((boxes) => { boxes[k].attrs = { ...boxes[k].attrs, [name]: value }; });
  }
  function cycleFirstAttr() {
    const names = Object.keys(S.job.attributes);
    if (S.selected < 0 || !names.length) return;
    const values = S.job.attributes[names[0]];
    const cur = curState().boxes[S.selected].attrs[names[0]];
    setAttr(names[0], values[(values.indexOf(cur) + 1) % values.length]);
  }

  // -- drawing ---------------------------------------------------------------------------------
  function layout() {
    const dpr = window.devicePixelRatio || 1;
    const w = stage.clientWidth, h = stage.clientHeight;
    for (const c of [imageLayer, overlay]) {
      c.width = Math.round(w * dpr);
      c.height = Math.round(h * dpr);
      c.style.width = `${w}px`;
      c.style.height = `${h}px`;
    }
    if (!S.frame) return;
    const scale = Math.min(w / S.frame.width, h / S.frame.height);
    S.view = { scale, ox: (w - S.frame.width * scale) / 2, oy: (h - S.frame.height * scale) / 2 };
    drawImageLayer();
  }
  function shownImage() {
    if (!S.peek) return S.img;
    return S.peekImg || S.img;
  }
  function drawImageLayer() {
    const dpr = window.devicePixelRatio || 1;
    ictx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ictx.fillStyle = "#0b0d10";
    ictx.fillRect(0, 0, imageLayer.width, imageLayer.height);
    const img = shownImage();
    if (img) ictx.drawImage(img, S.view.ox, S.view.oy, S.frame.width * S.view.scale, S.frame.height * S.view.scale);
  }
  function boxPath(ctx, b, tr) {
    const [x1, y1] = tr(b[0], b[1]);
    const [x2, y2] = tr(b[2], b[3]);
    ctx.strokeRect(x1, y1, x2 - x1, y2 - y1);
    return [x1, y1, x2, y2];
  }
  let placedTags = [];
  function tag(ctx, text, x, y, bg) {
    ctx.font = "600 11px system-ui, sans-serif";
    const w = ctx.measureText(text).width + 8;
    let ty = y - 16 < 0 ? y + 2 : y - 16;
    // stack tags that would cover each other (a proposal right on top of a box, say)
    while (placedTags.some((t) => x < t[0] + t[2] && t[0] < x + w && ty < t[1] + 15 && t[1] < ty + 15)) ty -= 16;
    placedTags.push([x, ty, w]);
    ctx.fillStyle = bg;
    ctx.fillRect(x, ty, w, 15);
    ctx.fillStyle = "#111";
    ctx.fillText(text, x + 4, ty + 11);
  }
  function drawBoxes(ctx, tr, labels) {
    const st = curState();
    const props = S.peek ? [] : visibleProposals();
    for (const p of props) {
      const c = p.origin === "tracker" ? TRACKER_COLOR : PROPOSAL_COLOR;
      ctx.setLineDash([5, 4]);
      ctx.lineWidth = p.k === S.hoverProposal ? 2.5 : 1.5;
      ctx.strokeStyle = c;
      const [x1, y1] = boxPath(ctx, p.xyxy, tr);
      ctx.setLineDash([]);
      if (labels) tag(ctx, `${p.origin}${p.score === null ? "" : " " + p.score.toFixed(2)} ⏎`, x1, y1, c);
    }
    st.boxes.forEach((b, k) => {
      const sel = k === S.selected;
      ctx.lineWidth = sel ? 2.5 : 1.8;
      ctx.strokeStyle = color(b.class_id);
      if (S.peek) ctx.setLineDash([3, 3]);
      const [x1, y1, x2, y2] = boxPath(ctx, b.xyxy, tr);
      ctx.setLineDash([]);
      if (labels) tag(ctx, `${S.job.classes[b.class_id]} · ${b.source}`, x1, y1, color(b.class_id));
      if (sel && labels) {
        ctx.fillStyle = "#fff";
        for (const [hx, hy] of [[x1, y1], [x2, y1], [x1, y2], [x2, y2]]) ctx.fillRect(hx - 3, hy - 3, 6, 6);
      }
    });
    if (S.drag && S.drag.kind === "draw" && S.drag.box) {
      ctx.lineWidth = 1.5;
      ctx.strokeStyle = color(S.cls);
      boxPath(ctx, S.drag.box, tr);
    }
  }
  function render(full = true) {
    if (!S.frame) return;
    const dpr = window.devicePixelRatio || 1;
    octx.setTransform(dpr, 0, 0, dpr, 0, 0);
    octx.clearRect(0, 0, overlay.width, overlay.height);
    placedTags = [];
    drawBoxes(octx, toScreen, true);
    if (S.mouse && !S.peek) {
      const [sx, sy] = toScreen(S.mouse.x, S.mouse.y);
      octx.strokeStyle = "rgba(255,255,255,.35)";
      octx.lineWidth = 1;
      octx.beginPath();
      octx.moveTo(sx + 0.5, 0); octx.lineTo(sx + 0.5, overlay.height);
      octx.moveTo(0, sy + 0.5); octx.lineTo(overlay.width, sy + 0.5);
      octx.stroke();
    }
    renderLoupe();
    renderFrameInfo();
    if (full) renderPanel(); // not on every mouse move: it rebuilds the panel's lists
  }
  function renderLoupe() {
    if (!S.loupeOn || !S.mouse || !shownImage()) {
      loupe.hidden = true;
      return;
    }
    loupe.hidden = false;
    const L = loupe.width, z = S.zoom;
    const half = L / (2 * z);
    const { x, y } = S.mouse;
    lctx.imageSmoothingEnabled = false;
    lctx.fillStyle = "#000";
    lctx.fillRect(0, 0, L, L);
    lctx.drawImage(shownImage(), x - half, y - half, 2 * half, 2 * half, 0, 0, L, L);
    const tr = (ix, iy) => [(ix - x + half) * z, (iy - y + half) * z];
    drawBoxes(lctx, tr, false);
    lctx.strokeStyle = "rgba(255,255,255,.8)";
    lctx.lineWidth = 1;
    lctx.beginPath();
    lctx.moveTo(L / 2 + 0.5, L / 2 - 12); lctx.lineTo(L / 2 + 0.5, L / 2 + 12);
    lctx.moveTo(L / 2 - 12, L / 2 + 0.5); lctx.lineTo(L / 2 + 12, L / 2 + 0.5);
    lctx.stroke();
    lctx.fillStyle = "rgba(0,0,0,.6)";
    lctx.fillRect(L - 34, L - 18, 34, 18);
    lctx.fillStyle = "#fff";
    lctx.font = "600 11px system-ui, sans-serif";
    lctx.fillText(`${z}×`, L - 26, L - 5);
    const [sx, sy] = toScreen(x, y);
    const W = stage.clientWidth, H = stage.clientHeight;
    let lx = sx + 24, ly = sy - L - 24;
    if (lx + L > W) lx = sx - L - 24;
    if (ly < 0) ly = sy + 24;
    if (ly + L > H) ly = H - L - 4;
    loupe.style.left = `${Math.max(4, lx)}px`;
    loupe.style.top = `${Math.max(4, ly)}px`;
  }
  function renderFrameInfo() {
    const entry = S.job.frames[S.pos];
    const st = S.states.get(entry.index);
    $("frame-name").textContent = entry.name;
    $("position").textContent = `${S.pos + 1} / ${S.job.frames.length}`;
    const fs = $("frame-state");
    if (st && st.no_ball && !st.boxes.length) {
      fs.className = "frame-state noball";
      fs.textContent = "no ball visible";
    } else if (st && st.boxes.length) {
      fs.className = "frame-state labelled";
      fs.textContent = `labelled · ${st.boxes.length} box${st.boxes.length > 1 ? "es" : ""}`;
    } else {
      fs.className = "frame-state";
      fs.textContent = "unlabelled";
    }
    const note = $("note");
    note.hidden = !S.frame.note;
    note.textContent = S.frame.note ? `review: ${S.frame.note}` : "";
    const peek = $("peek");
    peek.hidden = !S.peek;
    if (S.peek) {
      const k = S.pos + S.peek;
      peek.textContent = `flipped ${S.peek > 0 ? "+" : ""}${S.peek}: ${S.job.frames[k].name} — W or Esc to return`;
    }
    if (S.mouse) {
      let text = `x ${S.mouse.x.toFixed(0)}  y ${S.mouse.y.toFixed(0)}`;
      const b = S.selected >= 0 ? curState().boxes[S.selected] : null;
      if (b) text += `  ·  box ${(b.xyxy[2] - b.xyxy[0]).toFixed(1)}×${(b.xyxy[3] - b.xyxy[1]).toFixed(1)}`;
      $("coords").textContent = text;
    }
  }
  function renderPanel() {
    const cl = $("classes");
    cl.replaceChildren(...S.job.classes.map((c, k) => {
      const li = document.createElement("li");
      li.className = k === S.cls ? "active" : "";
      li.innerHTML = `<span class="swatch"></span><span></span><span class="key">${k + 1}</span>`;
      li.children[0].style.background = color(k);
      li.children[1].textContent = c;
      li.children[2].style.marginLeft = "auto";
      li.onclick = () => setClass(k);
      return li;
    }));
    const sel = $("selected");
    const b = S.selected >= 0 ? curState().boxes[S.selected] : null;
    if (!b) {
      sel.className = "muted";
      sel.textContent = "none — click a box, or drag to draw one";
    } else {
      sel.className = "";
      sel.replaceChildren();
      const row = (label, node) => {
        const r = document.createElement("div");
        r.className = "row";
        const l = document.createElement("span");
        l.className = "muted";
        l.textContent = label;
        r.append(l, node);
        sel.append(r);
      };
      const src = document.createElement("span");
      src.className = `src ${b.source}`;
      src.textContent = b.source;
      row("source", src);
      const conf = document.createElement("span");
      conf.textContent = Number(b.confidence).toFixed(2);
      row("confidence", conf);
      for (const [name, values] of Object.entries(S.job.attributes)) {
        const s = document.createElement("select");
        s.dataset.attr = name;
        for (const v of values) s.add(new Option(v, v, false, b.attrs[name] === v));
        s.onchange = () => { setAttr(name, s.value); s.blur(); };
        row(name, s);
      }
    }
    const pl = $("proposals");
    const props = visibleProposals();
    if (!props.length) {
      const li = document.createElement("li");
      li.className = "empty";
      li.textContent = S.job.proposals || S.frame.proposals.length ? "none left on this frame" : "none (start with --model)";
      pl.replaceChildren(li);
    } else {
      pl.replaceChildren(...props.map((p) => {
        const li = document.createElement("li");
        li.innerHTML = `<span class="swatch"></span><span></span><span class="score"></span>`;
        li.children[0].style.background = p.origin === "tracker" ? TRACKER_COLOR : PROPOSAL_COLOR;
        li.children[1].textContent = `${S.job.classes[p.class_id]} (${p.origin})`;
        li.children[2].textContent = p.score === null ? "" : p.score.toFixed(2);
        li.onclick = () => accept(p.k);
        li.onmouseenter = () => { S.hoverProposal = p.k; render(false); };
        return li;
      }));
    }
  }
  function showProgress() {
    const n = S.job.frames.length;
    const done = S.job.frames.filter((f) => f.labelled).length;
    $("progress-fill").style.width = `${n ? (100 * done) / n : 0}%`;
    $("progress-text").textContent = `${done} / ${n} labelled`;
  }
  function drawTimeline() {
    const c = $("timeline");
    const dpr = window.devicePixelRatio || 1;
    const w = c.clientWidth, h = c.clientHeight;
    c.width = Math.round(w * dpr);
    c.height = Math.round(h * dpr);
    const ctx = c.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = "#0b0d10";
    ctx.fillRect(0, 0, w, h);
    const n = S.job.frames.length;
    const cw = w / Math.max(n, 1);
    S.job.frames.forEach((f, k) => {
      const st = S.states.get(f.index);
      const noBall = st ? st.no_ball && !st.boxes.length : f.no_ball;
      ctx.fillStyle = f.labelled ? (noBall ? "#5b8def" : "#3fb27f") : f.note ? "#f0a030" : "#2a3039";
      ctx.fillRect(k * cw + (cw > 3 ? 0.5 : 0), 2, Math.max(cw - (cw > 3 ? 1 : 0), 1), h - 4);
    });
    // the current frame: a white frame around its cell, so its own colour still shows
    ctx.strokeStyle = "#fff";
    ctx.lineWidth = 2;
    ctx.strokeRect(S.pos * cw + 1, 1, Math.max(cw - 2, 2), h - 2);
  }

  // -- mouse -----------------------------------------------------------------------------------
  function hit(x, y) {
    // what is under the pointer: a handle of the selected box, a box, a proposal, or nothing
    const tol = HANDLE / S.view.scale;
    const boxes = curState().boxes;
    if (S.selected >= 0) {
      const b = boxes[S.selected].xyxy;
      const w = b[2] - b[0], h = b[3] - b[1];
      const inner = x > b[0] + w / 4 && x < b[2] - w / 4 && y > b[1] + h / 4 && y < b[3] - h / 4;
      if (!inner) {
        const ex = Math.abs(x - b[0]) <= tol ? 0 : Math.abs(x - b[2]) <= tol ? 2 : -1;
        const ey = Math.abs(y - b[1]) <= tol ? 1 : Math.abs(y - b[3]) <= tol ? 3 : -1;
        const within = x >= b[0] - tol && x <= b[2] + tol && y >= b[1] - tol && y <= b[3] + tol;
        if (within && (ex >= 0 || ey >= 0)) return { kind: "resize", k: S.selected, ex, ey };
      }
    }
    let best = -1, bestArea = Infinity;
    boxes.forEach((bx, k) => {
      const b = bx.xyxy;
      if (x >= b[0] - tol && x <= b[2] + tol && y >= b[1] - tol && y <= b[3] + tol) {
        const a = (b[2] - b[0]) * (b[3] - b[1]);
        if (a < bestArea) { best = k; bestArea = a; }
      }
    });
    if (best >= 0) return { kind: "move", k: best };
    for (const p of visibleProposals()) {
      const b = p.xyxy;
      if (x >= b[0] - tol && x <= b[2] + tol && y >= b[1] - tol && y <= b[3] + tol) return { kind: "proposal", k: p.k };
    }
    return null;
  }
  function imagePoint(e) {
    const r = overlay.getBoundingClientRect();
    const [x, y] = toImage(e.clientX - r.left, e.clientY - r.top);
    return { x, y };
  }
  overlay.addEventListener("mousedown", (e) => {
    if (!S.frame || e.button !== 0 || S.peek) return;
    e.preventDefault();
    const p = imagePoint(e);
    const h = hit(p.x, p.y);
    if (h && h.kind === "proposal") {
      accept(h.k);
      return;
    }
    if (h && (h.kind === "move" || h.kind === "resize")) {
      S.selected = h.k;
      S.drag = { ...h, start: p, orig: curState().boxes[h.k].xyxy.slice(), moved: false };
    } else {
      S.selected = -1;
      S.drag = { kind: "draw", start: p, box: null };
    }
    render();
  });
  window.addEventListener("mousemove", (e) => {
    if (!S.frame) return;
    const r = overlay.getBoundingClientRect();
    const over = e.clientX >= r.left && e.clientX < r.right && e.clientY >= r.top && e.clientY < r.bottom;
    const p = imagePoint(e);
    S.mouse = over || S.drag ? p : null;
    const d = S.drag;
    if (d && d.kind === "draw") {
      d.box = [Math.min(d.start.x, p.x), Math.min(d.start.y, p.y), Math.max(d.start.x, p.x), Math.max(d.start.y, p.y)];
    } else if (d) {
      const dx = p.x - d.start.x, dy = p.y - d.start.y;
      const b = d.orig.slice();
      if (d.kind === "move") {
        b[0] += dx; b[2] += dx; b[1] += dy; b[3] += dy;
      } else {
        if (d.ex >= 0) b[d.ex] += dx;
        if (d.ey >= 0) b[d.ey] += dy;
      }
      d.moved = d.moved || Math.abs(dx) + Math.abs(dy) > 0;
      d.box = b;
      const st = S.states.get(curIndex());
      st.boxes[d.k].xyxy = b; // live preview; committed on mouseup
    } else if (over) {
      const h = hit(p.x, p.y);
      overlay.style.cursor = !h ? "crosshair" : h.kind === "move" ? "move" : h.kind === "proposal" ? "pointer"
        : (h.ex >= 0) !== (h.ey >= 0) ? (h.ex >= 0 ? "ew-resize" : "ns-resize")
          : (h.ex === 0) === (h.ey === 1) ? "nwse-resize" : "nesw-resize";
      const hp = h && h.kind === "proposal" ? h.k : -1;
      if (hp !== S.hoverProposal) S.hoverProposal = hp;
    }
    requestRender();
  });
  window.addEventListener("mouseup", () => {
    const d = S.drag;
    if (!d) return;
    S.drag = null;
    if (d.kind === "draw") {
      if (d.box && d.box[2] - d.box[0] >= MIN_BOX && d.box[3] - d.box[1] >= MIN_BOX) addBox(d.box, S.cls, "drawn", 1);
      else render();
      return;
    }
    const st = S.states.get(curIndex());
    st.boxes[d.k].xyxy = d.orig; // undo the live preview so that the undo stack holds the old box
    if (!d.moved) return render();
    const b = d.box.slice();
    const fixed = [Math.min(b[0], b[2]), Math.min(b[1], b[3]), Math.max(b[0], b[2]), Math.max(b[1], b[3])];
    if (fixed[2] - fixed[0] < MIN_BOX || fixed[3] - fixed[1] < MIN_BOX) return render();
    withBoxes((boxes) => {
      boxes[d.k].xyxy = clampBox(fixed);
      if (boxes[d.k].source === "accepted") boxes[d.k].source = "corrected";
    });
  });
  overlay.addEventListener("mouseleave", () => {
    if (!S.drag) {
      S.mouse = null;
      requestRender();
    }
  });
  overlay.addEventListener("wheel", (e) => {
    e.preventDefault();
    S.zoom = Math.max(2, Math.min(8, S.zoom + (e.deltaY < 0 ? 1 : -1)));
    requestRender();
  }, { passive: false });
  let renderQueued = false;
  function requestRender() {
    if (renderQueued) return;
    renderQueued = true;
    requestAnimationFrame(() => { renderQueued = false; render(false); });
  }

  // -- flipping through neighbouring frames -------------------------------------------------
  async function peek(step) {
    const k = S.pos + S.peek + step;
    if (k < 0 || k >= S.job.frames.length) return;
    S.peek = k - S.pos;
    if (!S.peek) {
      S.peekImg = null;
    } else {
      const img = await loadImage(S.job.frames[k].index);
      if (S.pos + S.peek !== k) return;
      S.peekImg = img;
    }
    drawImageLayer();
    render();
  }

  // -- keys ------------------------------------------------------------------------------------
  document.addEventListener("keydown", (e) => {
    if (!S.job || !S.frame) return;
    if (e.target instanceof HTMLSelectElement || e.target instanceof HTMLInputElement) return;
    const key = e.key;
    const ctrl = e.ctrlKey || e.metaKey;
    let handled = true;
    if (key === "ArrowRight" || key === "d" || key === "D") go(S.pos + 1, e.timeStamp);
    else if (key === "ArrowLeft" || key === "a" || key === "A") go(S.pos - 1, e.timeStamp);
    else if (key === "u" || key === "U") {
      const k = S.job.frames.findIndex((f, j) => j > S.pos && !f.labelled);
      if (k >= 0) go(k, e.timeStamp);
    } else if (S.peek && (key === "Escape" || key === "w" || key === "W")) peek(-S.peek);
    else if (key === "q" || key === "Q") peek(-1);
    else if (key === "e" || key === "E") peek(1);
    else if (S.peek) handled = false; // no edits while looking at another frame
    else if (key === "Enter") accept();
    else if (key === "n" || key === "N") toggleNoBall();
    else if (key === "Delete" || key === "Backspace") deleteSelected();
    else if ((key === "z" || key === "Z") && (e.shiftKey)) undoRedo(S.redo, S.undo);
    else if (key === "z" || key === "Z" || (ctrl && key === "y")) {
      if (ctrl && key === "y") undoRedo(S.redo, S.undo);
      else undoRedo(S.undo, S.redo);
    } else if (/^[1-9]$/.test(key) && !ctrl) setClass(Number(key) - 1);
    else if (key === "Tab") {
      const n = curState().boxes.length;
      S.selected = n ? (S.selected + 1) % n : -1;
      render();
    } else if (key === "o" || key === "O") cycleFirstAttr();
    else if (key === "l" || key === "L") { S.loupeOn = !S.loupeOn; render(); }
    else if (key === "[") { S.zoom = Math.max(2, S.zoom - 1); render(); }
    else if (key === "]") { S.zoom = Math.min(8, S.zoom + 1); render(); }
    else if (key === "Escape") {
      S.selected = -1;
      S.drag = null;
      render();
    } else handled = false;
    if (handled) e.preventDefault();
  });
  $("btn-noball").onclick = (e) => { e.currentTarget.blur(); if (!S.peek) toggleNoBall(); };
  $("btn-undo").onclick = (e) => { e.currentTarget.blur(); undoRedo(S.undo, S.redo); };
  $("timeline").addEventListener("click", (e) => {
    const r = e.currentTarget.getBoundingClientRect();
    go(Math.floor(((e.clientX - r.left) / r.width) * S.job.frames.length));
  });
  window.addEventListener("resize", () => { layout(); render(); drawTimeline(); });

  // -- start -----------------------------------------------------------------------------------
  async function start() {
    const res = await fetch("/api/job");
    S.job = await res.json();
    restorePending();
    if (S.job.review) {
      const m = $("mode");
      m.hidden = false;
      m.textContent = "review";
    }
    if (!S.job.frames.length) {
      $("frame-name").textContent = S.job.review ? "labels and predictions agree on every frame" : "no frames";
      return;
    }
    showProgress();
    drawTimeline();
    showStatus();
    setInterval(ping, 3000);
    await go(S.job.start);
    if (pending.size) flush();
  }

  async function ping() {
    // notice a dead server even when nothing is being saved, and flush as soon as it is back
    let ok = false;
    try {
      ok = (await fetch("/api/health", { cache: "no-store" })).ok;
    } catch (e) {
      ok = false;
    }
    setOnline(ok);
    if (ok && pending.size && !inflight) flush();
  }

  window.pigskinLabel = {
    state: () => S,
    pendingChanges: unsavedChanges,
    go,
  };
  start();
})();
