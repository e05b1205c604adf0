// The animation player of animation.html: draws the display list and the residents of each frame
// (data built by simsampling/animation/build.py), with play/pause, a time slider and a speed.
// Nothing is computed here but the drawing: where each resident stands is in the data.
(() => {
  "use strict";
  const data = JSON.parse(document.getElementById("animation-data").textContent);
  const canvas = document.getElementById("scene");
  const context = canvas.getContext("2d");
  const ratio = window.devicePixelRatio || 1;
  canvas.width = data.width * ratio;
  canvas.height = data.height * ratio;
  context.scale(ratio, ratio);
  const frames = data.frames;
  const places = data.places;
  const countIndex = new Map(data.counts.map((name, i) => [name, i]));
  const classColour = [data.palette.qr, data.palette.manual, data.palette.priority];
  const kindColour = {2: data.palette.gave_up, 3: data.palette.turned, 4: data.palette.diverted};
  const HELD = 1;
  const nextPlace = new Int32Array(data.colours.length).fill(-1);
  const slider = document.getElementById("time");
  const button = document.getElementById("play");
  const speed = document.getElementById("speed");
  const shownClock = document.getElementById("clock");
  slider.max = String(frames.length - 1);
  let position = 0;
  let playing = false;
  let last = null;
  let drawn = [];

  const pad = (n) => String(n).padStart(2, "0");
  function clock(seconds) {
    const whole = Math.floor(seconds + 1e-6);
    const day = Math.floor(whole / 86400);
    const inDay = whole - day * 86400;
    const text = pad(Math.floor(inDay / 3600)) + ":" + pad(Math.floor(inDay % 3600 / 60)) + ":" + pad(inDay % 60);
    return day > 0 ? "+" + day + "d " + text : text;
  }
  function isOpen(seconds) {
    return data.hours.some(([open, close]) => open <= seconds && seconds < close);
  }
  function valueText(shape, frame, seconds) {
    if (shape.value === null || shape.value === undefined) return shape.s;
    if (shape.value === "clock") return clock(seconds) + (isOpen(seconds) ? "" : " (closed)");
    return shape.s.replace("{}", frame.n[countIndex.get(shape.value)].toLocaleString("en"));
  }
  function stationStates(frame) {
    const states = new Map();
    for (let k = 0; k < frame.s.length; k += 2) states.set(frame.s[k], data.stationStates[frame.s[k + 1]]);
    return states;
  }
  function drawShapes(frame, seconds) {
    const states = stationStates(frame);
    for (const shape of data.shapes) {
      if (shape.t === "rect") {
        const state = shape.slot === undefined ? undefined : states.get(shape.slot);
        context.beginPath();
        if (shape.r) context.roundRect(shape.x, shape.y, shape.w, shape.h, shape.r);
        else context.rect(shape.x, shape.y, shape.w, shape.h);
        const fill = state ? data.palette[state] : shape.fill;
        if (fill) { context.fillStyle = fill; context.fill(); }
        if (shape.stroke) {
          context.setLineDash(shape.dash ? [6, 4] : []);
          context.lineWidth = shape.lw || 1;
          context.strokeStyle = shape.stroke;
          context.stroke();
          context.setLineDash([]);
        }
      } else if (shape.t === "text") {
        context.font = (shape.bold ? "bold " : "") + shape.size + "px sans-serif";
        context.fillStyle = shape.colour;
        context.textAlign = shape.align;
        context.fillText(valueText(shape, frame, seconds), shape.x, shape.y);
      } else if (shape.t === "dot") {
        dot(shape.x, shape.y, shape.colour, shape.ring, 5);
      }
    }
  }
  function dot(x, y, colour, ring, radius) {
    context.beginPath();
    context.arc(x, y, radius, 0, 2 * Math.PI);
    context.fillStyle = colour;
    context.fill();
    if (ring) { context.lineWidth = 1.5; context.strokeStyle = "#1d3557"; context.stroke(); }
  }
  function drawResidents(index, share) {
    const frame = frames[index];
    const next = share > 0 && index + 1 < frames.length ? frames[index + 1].d : null;
    if (next) for (let k = 0; k < next.length; k += 2) nextPlace[next[k]] = next[k + 1];
    drawn = [];
    for (let k = 0; k < frame.d.length; k += 2) {
      const resident = frame.d[k];
      const place = frame.d[k + 1];
      let x = places[2 * place];
      let y = places[2 * place + 1];
      const to = next ? nextPlace[resident] : -1;
      if (to >= 0) {
        x += (places[2 * to] - x) * share;
        y += (places[2 * to + 1] - y) * share;
      }
      const kind = data.kinds[place];
      const colour = kindColour[kind] || classColour[data.colours[resident]];
      dot(x, y, colour, kind === HELD, data.dot);
      drawn.push([resident, place, Math.round(x * 10) / 10, Math.round(y * 10) / 10]);
    }
    if (next) for (let k = 0; k < next.length; k += 2) nextPlace[next[k]] = -1;
    context.font = "11px sans-serif";
    context.fillStyle = "#a8561b";
    for (let k = 0; k < frame.m.length; k += 2) {
      const [x, y, align] = data.more[frame.m[k]];
      context.textAlign = align;
      context.fillText("+" + frame.m[k + 1].toLocaleString("en") + " more", x, y);
    }
  }
  function draw() {
    const index = Math.min(Math.floor(position), frames.length - 1);
    const share = playing ? position - index : 0;
    const seconds = data.start + (index + share) * data.step;
    context.fillStyle = "#ffffff";
    context.fillRect(0, 0, data.width, data.height);
    drawShapes(frames[index], seconds);
    drawResidents(index, share);
    slider.value = String(index);
    shownClock.textContent = clock(seconds);
  }
  function tick(now) {
    if (!playing) return;
    if (last !== null) {
      position += (now - last) / 1000 * Number(speed.value) / data.step;
      if (position >= frames.length - 1) { position = frames.length - 1; setPlaying(false); }
    }
    last = now;
    draw();
    if (playing) window.requestAnimationFrame(tick);
  }
  function setPlaying(on) {
    playing = on && frames.length > 1;
    button.textContent = playing ? "Pause" : "Play";
    last = null;
    if (playing) {
      if (position >= frames.length - 1) position = 0;
      window.requestAnimationFrame(tick);
    } else {
      position = Math.floor(position);
      draw();
    }
  }
  button.addEventListener("click", () => setPlaying(!playing));
  slider.addEventListener("input", () => { position = Number(slider.value); draw(); });
  document.addEventListener("keydown", (event) => {
    if (event.target.tagName === "SELECT") return;
    if (event.key === " ") { event.preventDefault(); setPlaying(!playing); }
    if (event.key === "ArrowRight" || event.key === "ArrowLeft") {
      event.preventDefault();
      setPlaying(false);
      position = Math.max(0, Math.min(frames.length - 1, position + (event.key === "ArrowRight" ? 1 : -1)));
      draw();
    }
  });
  // For tests and the curious: show frame i and say what was drawn (resident, place, x, y).
  window.simsamplingAnimation = {
    frames: frames.length,
    seek(index) { setPlaying(false); position = index; draw(); return drawn; },
    drawn() { return drawn; },
  };
  draw();
})();
