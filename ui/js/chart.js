// SVG charts drawn by hand: sparkline, time histogram (stacked by series,
// hover values, drag to zoom) and horizontal bars. Times are labelled in the
// viewer's time zone. Only numbers and our own labels reach the SVG; labels
// are set with textContent.

const NS = 'http://www.w3.org/2000/svg';

function s(tag, attrs, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = String(text);
  return el;
}

// counts: numbers, oldest first. Returns an <svg> of width x height.
export function sparkline(counts, { width = 120, height = 28, label = '' } = {}) {
  const svg = s('svg', { class: 'spark', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img' });
  const n = counts.length;
  const max = Math.max(1, ...counts);
  const bw = width / Math.max(1, n);
  counts.forEach((c, i) => {
    const bh = c > 0 ? Math.max(1.5, (c / max) * (height - 2)) : 0;
    const r = s('rect', { x: (i * bw + 0.5).toFixed(1), y: (height - bh).toFixed(1), width: Math.max(1, bw - 1).toFixed(1), height: bh.toFixed(1) });
    r.append(s('title', {}, `${c}`));
    svg.append(r);
  });
  svg.append(s('title', {}, label || `${counts.reduce((a, b) => a + b, 0)} in the period`));
  return svg;
}

function tickFormat(spanMs) {
  if (spanMs <= 2 * 86400e3) return { hour: '2-digit', minute: '2-digit' };
  return { month: 'short', day: 'numeric' };
}

// buckets: [{t: ms, counts: {series: n}}] oldest first, step: bucket width in ms.
// series: [{key, cls}]. onZoom(fromMs, toMs) after a drag.
export function histogram(buckets, { step, series = [{ key: 'count', cls: 'bar' }], height = 140, onZoom, onPick } = {}) {
  const width = 1000;
  const padL = 40, padB = 20, padT = 6;
  const ih = height - padB - padT, iw = width - padL - 4;
  const svg = s('svg', { class: 'histogram', viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: 'none', role: 'img' });
  const wrap = document.createElement('div');
  wrap.className = 'chart';
  const tip = document.createElement('div');
  tip.className = 'tip';
  tip.hidden = true;
  wrap.append(svg, tip);
  if (!buckets.length) return wrap;
  const t0 = buckets[0].t, t1 = buckets[buckets.length - 1].t + step;
  const total = (b) => series.reduce((a, se) => a + (b.counts[se.key] || 0), 0);
  const max = Math.max(1, ...buckets.map(total));
  const x = (t) => padL + ((t - t0) / (t1 - t0)) * iw;
  const y = (v) => padT + ih - (v / max) * ih;
  // axes
  svg.append(s('line', { x1: padL, y1: padT + ih, x2: width, y2: padT + ih, class: 'axis' }));
  for (const v of [max, Math.round(max / 2)]) {
    svg.append(s('text', { x: padL - 4, y: y(v) + 4, 'text-anchor': 'end', class: 'tick' }, v));
    svg.append(s('line', { x1: padL, x2: width, y1: y(v), y2: y(v), class: 'grid' }));
  }
  const fmt = new Intl.DateTimeFormat(undefined, tickFormat(t1 - t0));
  for (let i = 0; i <= 5; i++) {
    const t = t0 + ((t1 - t0) * i) / 5;
    svg.append(s('text', { x: x(t), y: height - 4, 'text-anchor': i === 0 ? 'start' : i === 5 ? 'end' : 'middle', class: 'tick' }, fmt.format(new Date(t))));
  }
  const bw = Math.max(1, (iw / buckets.length) - 1);
  for (const b of buckets) {
    let acc = 0;
    for (const se of series) {
      const v = b.counts[se.key] || 0;
      if (!v) continue;
      svg.append(s('rect', { x: x(b.t), y: y(acc + v), width: bw, height: Math.max(1, y(acc) - y(acc + v)), class: 'bar ' + se.cls }));
      acc += v;
    }
  }
  const full = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
  const bucketAt = (clientX) => {
    const r = svg.getBoundingClientRect();
    const t = t0 + ((clientX - r.left) / r.width * width - padL) / iw * (t1 - t0);
    return { t, b: buckets.find((bb) => t >= bb.t && t < bb.t + step) };
  };
  // hover + drag to zoom
  const sel = s('rect', { class: 'selection', y: padT, height: ih, width: 0, x: 0 });
  svg.append(sel);
  let dragFrom = null;
  svg.addEventListener('pointermove', (ev) => {
    const { t, b } = bucketAt(ev.clientX);
    if (b) {
      const parts = series.filter((se) => b.counts[se.key]).map((se) => `${se.key} ${b.counts[se.key]}`);
      tip.textContent = `${full.format(new Date(b.t))}: ${total(b)}${parts.length > 1 ? ' (' + parts.join(', ') + ')' : ''}`;
      tip.hidden = false;
    } else tip.hidden = true;
    if (dragFrom !== null) {
      const a = Math.min(dragFrom, t), z = Math.max(dragFrom, t);
      sel.setAttribute('x', x(Math.max(t0, a)));
      sel.setAttribute('width', Math.max(0, x(Math.min(t1, z)) - x(Math.max(t0, a))));
    }
  });
  svg.addEventListener('pointerleave', () => { tip.hidden = true; });
  svg.addEventListener('pointerdown', (ev) => { dragFrom = bucketAt(ev.clientX).t; svg.setPointerCapture(ev.pointerId); });
  svg.addEventListener('pointerup', (ev) => {
    if (dragFrom === null) return;
    const t = bucketAt(ev.clientX).t;
    const a = Math.max(t0, Math.min(dragFrom, t)), z = Math.min(t1, Math.max(dragFrom, t));
    dragFrom = null;
    sel.setAttribute('width', 0);
    if (z - a > step / 2 && onZoom) onZoom(a, z);
    else if (onPick) { const { b } = bucketAt(ev.clientX); if (b) onPick(b.t, b.t + step); }
  });
  return wrap;
}

// rows: [{label, count}] -> horizontal bars (facet values, tag distributions);
// fmt formats the number shown (bytes on the storage pages).
export function bars(rows, { onClick, fmt = String } = {}) {
  const max = Math.max(1, ...rows.map((r) => r.count));
  const ul = document.createElement('ul');
  ul.className = 'bars';
  for (const r of rows) {
    const li = document.createElement('li');
    const btn = document.createElement(onClick ? 'button' : 'span');
    if (onClick) { btn.type = 'button'; btn.addEventListener('click', () => onClick(r)); }
    btn.className = 'barrow';
    const lab = document.createElement('span');
    lab.className = 'barlabel';
    lab.textContent = r.label;
    lab.title = r.label;
    const num = document.createElement('span');
    num.className = 'barnum';
    num.textContent = fmt(r.count);
    const fill = document.createElement('span');
    fill.className = 'barfill';
    fill.style.width = `${(r.count / max) * 100}%`;
    btn.append(fill, lab, num);
    li.append(btn);
    ul.append(li);
  }
  return ul;
}
