// A small client-side reading of the search language, used only against a
// server that predates it (api.hasSearch): free words match the message,
// field:value an attribute exactly, a leading "-" negates. Quoted values keep
// their spaces.

export function terms(q) {
  const out = [];
  const re = /(-?)(?:([\w.@-]+):)?("(?:[^"\\]|\\.)*"|\S+)/g;
  let m;
  while ((m = re.exec(q || ''))) {
    let v = m[3];
    if (v.startsWith('"')) { try { v = JSON.parse(v); } catch { v = v.slice(1, -1); } }
    out.push({ neg: m[1] === '-', field: m[2] || null, value: v });
  }
  return out;
}

function fieldOf(row, f) {
  if (f === 'message' || f === 'msg') return row.message;
  if (row[f] !== undefined && typeof row[f] !== 'object') return row[f];
  return row.attributes ? row.attributes[f] : undefined;
}

export function matches(row, ts, text) {
  return ts.every((t) => {
    let ok;
    if (t.field) ok = String(fieldOf(row, t.field) ?? '').toLowerCase() === t.value.toLowerCase();
    else ok = text(row).toLowerCase().includes(t.value.toLowerCase());
    return t.neg ? !ok : ok;
  });
}
