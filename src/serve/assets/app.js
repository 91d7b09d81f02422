// The what-if page: a form over `--set` keys, a debounced run, the state in the URL fragment.
'use strict';
const $ = (id) => document.getElementById(id);
/** The scenario the page is on: {scenario} (shipped) or {text, file} (pasted). */
let source = { scenario: null, text: null, file: null };
/** The form's fields, as /api/fields gives them (key, label, group, value, quoted, choices). */
let fields = [];
/** Each field's input element, by key. */
const inputs = {};
let defaultSeed = '';
let seq = 0;
let inflight = null;
let timer = null;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function post(path, body, signal) {
  const r = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal,
  });
  return r;
}

/** What the page would ask for now: the source, every override (fields first), the seed. */
function collect() {
  const sets = [];
  for (const f of fields) {
    const v = inputs[f.key].value.trim();
    if (v === '' || v === f.value) continue;
    sets.push(f.key + '=' + (f.quoted ? JSON.stringify(v) : v));
  }
  for (const line of $('extra').value.split('\n')) {
    if (line.trim() !== '') sets.push(line.trim());
  }
  const req = { sets };
  if (source.scenario !== null) req.scenario = source.scenario;
  else {
    req.text = source.text;
    if (source.file) req.file = source.file;
  }
  const seed = $('seed').value.trim();
  if (seed !== '') req.seed = seed;
  return req;
}

/** The URL fragment holds the whole request, so a link reproduces the result. */
function writeHash(req) {
  const p = new URLSearchParams();
  if (req.scenario !== undefined) p.set('scenario', req.scenario);
  else {
    p.set('text', req.text);
    if (req.file) p.set('file', req.file);
  }
  for (const s of req.sets) p.append('set', s);
  p.set('seed', req.seed !== undefined ? req.seed : defaultSeed);
  history.replaceState(null, '', '#' + p.toString());
  $('link').value = location.href;
}

function shellQuote(s) {
  return /^[A-Za-z0-9_.,:=\/+-]+$/.test(s) ? s : "'" + s.replace(/'/g, "'\\''") + "'";
}

function showCommand(req, samples) {
  const file = req.scenario !== undefined ? 'scenarios/' + req.scenario + '.toml' : (req.file || 'pasted.toml');
  const parts = ['breakeven', 'run', shellQuote(file), '--samples', String(samples), '--seed', req.seed !== undefined ? req.seed : defaultSeed];
  for (const s of req.sets) parts.push('--set', shellQuote(s));
  $('command').textContent = parts.join(' ');
}

function setStatus(text, busy) {
  $('status').textContent = text;
  $('status').classList.toggle('busy', !!busy);
}

function clearProblems() {
  for (const el of document.querySelectorAll('.err')) el.textContent = '';
  for (const el of document.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
}

/** Where a problem belongs: the field of its key, else the field its `--set` came from. */
function placeOf(p) {
  if (inputs[p.key]) return p.key;
  if (/'--seed <SEED>'/.test(p.message)) return 'seed';
  if (p.key === 'scenario') return 'scenario';
  const from = [...p.message.matchAll(/--set ([^=\s]+)=/g)].map((m) => m[1]);
  const field = from.find((k) => inputs[k]);
  if (field) return field;
  if (from.length || /'--set <KEY=VALUE>'/.test(p.message)) return 'extra';
  const near = fields.find((f) => f.key.startsWith(p.key + '.') || p.key.startsWith(f.key + '.'));
  return near ? near.key : 'general';
}

function showProblems(answer) {
  clearProblems();
  const problems = answer.problems && answer.problems.length ? answer.problems : [{ key: '', message: answer.error, text: answer.error }];
  for (const p of problems) {
    const place = placeOf(p);
    let box;
    if (inputs[place]) {
      box = $('error-' + place);
      inputs[place].setAttribute('aria-invalid', 'true');
    } else if (place === 'extra' || place === 'seed') {
      box = $('error-' + place);
      $(place).setAttribute('aria-invalid', 'true');
    } else if (place === 'scenario') box = $('scenario-error');
    else box = $('general-error');
    box.textContent += (box.textContent ? '\n' : '') + p.text;
  }
}

function buildForm(list) {
  fields = list;
  const form = $('form');
  form.textContent = '';
  for (const k of Object.keys(inputs)) delete inputs[k];
  const groups = new Map();
  for (const f of fields) {
    if (!groups.has(f.group)) {
      const fs = document.createElement('fieldset');
      const lg = document.createElement('legend');
      lg.textContent = f.group;
      fs.appendChild(lg);
      form.appendChild(fs);
      groups.set(f.group, fs);
    }
    const fs = groups.get(f.group);
    const label = document.createElement('label');
    label.textContent = f.label;
    let input;
    if (f.choices.length) {
      input = document.createElement('select');
      const choices = f.value === '' || f.choices.includes(f.value) ? f.choices : [f.value, ...f.choices];
      if (f.value === '') {
        const o = document.createElement('option');
        o.value = '';
        o.textContent = '(the scenario\u2019s default)';
        input.appendChild(o);
      }
      for (const c of choices) {
        const o = document.createElement('option');
        o.value = c;
        o.textContent = c;
        input.appendChild(o);
      }
    } else {
      input = document.createElement('input');
      input.inputMode = 'decimal';
      if (f.value === '') input.placeholder = 'not set (the scenario\u2019s default)';
    }
    input.value = f.value;
    input.name = f.key;
    input.dataset.key = f.key;
    input.title = '--set ' + f.key + '=\u2026';
    label.appendChild(input);
    fs.appendChild(label);
    const err = document.createElement('div');
    err.className = 'err';
    err.id = 'error-' + f.key;
    fs.appendChild(err);
    inputs[f.key] = input;
  }
}

/** Put overrides back into their fields (quotes off); the rest go to the extra box. */
function fillSets(sets) {
  const extra = [];
  for (const s of sets) {
    const i = s.indexOf('=');
    const key = i < 0 ? s : s.slice(0, i).trim();
    let value = i < 0 ? '' : s.slice(i + 1).trim();
    const f = fields.find((x) => x.key === key);
    if (!f || i < 0) {
      extra.push(s);
      continue;
    }
    if (f.quoted && /^".*"$/.test(value)) {
      try { value = JSON.parse(value); } catch (e) { extra.push(s); continue; }
    }
    const el = inputs[key];
    if (el.tagName === 'SELECT' && ![...el.options].some((o) => o.value === value)) {
      extra.push(s);
      continue;
    }
    el.value = value;
  }
  $('extra').value = extra.join('\n');
}

async function loadFields() {
  const req = source.scenario !== null ? { scenario: source.scenario } : { text: source.text, file: source.file || undefined };
  const r = await post('/api/fields', req);
  const j = await r.json();
  if (!r.ok) {
    buildForm([]);
    showProblems(j);
    return false;
  }
  buildForm(j.fields);
  defaultSeed = String(j.seed);
  $('seed').placeholder = defaultSeed;
  return true;
}

function render(a) {
  const s = a.summary;
  $('verdict').textContent = a.verdict || '(one option only: nothing to compare)';
  // The CLI's text, without the verdict the box above already shows.
  const cut = a.verdict ? a.table.lastIndexOf(a.verdict) : -1;
  $('table').textContent = (cut > 0 ? a.table.slice(0, cut) : a.table).trimEnd();
  $('chart-breakeven').innerHTML = a.breakeven_svg || '<p class="muted">No break-even: the scenario has no API and self-hosted options to compare.</p>';
  $('chart-cumulative').innerHTML = a.cumulative_svg || '<p class="muted">No cumulative chart: the horizon is one month.</p>';
  $('sweep-note').textContent = a.sweep
    ? 'Each point is one month at a steady volume: ' + a.sweep.points + ' volumes on a log grid, ' + a.sweep.paths + ' paths each (the sweep command uses 25 volumes, refined near the crossings, and all the run\u2019s paths).'
    : '';
  const capped = a.samples_asked > s.samples ? ' (capped; the scenario asks for ' + a.samples_asked + ')' : '';
  setStatus(s.samples + ' paths' + capped + ' \u00d7 ' + s.horizon_months + ' months, seed ' + s.seed + '; computed in ' + a.server_seconds.toFixed(2) + ' s');
  document.body.dataset.state = 'done';
}

async function update() {
  clearTimeout(timer);
  const req = collect();
  writeHash(req);
  const my = ++seq;
  if (inflight) inflight.abort();
  const ctl = new AbortController();
  inflight = ctl;
  setStatus('running\u2026', true);
  document.body.dataset.state = 'running';
  try {
    for (;;) {
      const r = await post('/api/run', req, ctl.signal);
      const j = await r.json();
      // A newer request is on its way: this answer is stale.
      if (my !== seq) return;
      if (r.status === 503 && !(j.problems && j.problems.length)) {
        await sleep(300);
        if (my !== seq) return;
        continue;
      }
      if (!r.ok) {
        showProblems(j);
        setStatus('not run: ' + (j.problems && j.problems.length ? 'see the input marked in red' : j.error));
        document.body.dataset.state = 'error';
        return;
      }
      clearProblems();
      showCommand(req, j.summary.samples);
      render(j);
      return;
    }
  } catch (e) {
    if (e.name === 'AbortError' || my !== seq) return;
    setStatus('the server did not answer: ' + e.message);
    document.body.dataset.state = 'error';
  }
}

function later() {
  clearTimeout(timer);
  timer = setTimeout(update, 300);
}

async function download(kind) {
  const req = collect();
  $('dl-status').textContent = 'preparing ' + kind + '\u2026';
  const r = await post('/api/download/' + kind, req);
  if (!r.ok) {
    showProblems(await r.json());
    $('dl-status').textContent = '';
    return;
  }
  const name = (r.headers.get('content-disposition') || '').match(/filename="([^"]+)"/);
  const a = document.createElement('a');
  a.href = URL.createObjectURL(await r.blob());
  a.download = name ? name[1] : kind;
  document.body.appendChild(a);
  a.click();
  a.remove();
  $('dl-status').textContent = 'downloaded ' + a.download;
}

async function switchTo(src, sets, seed) {
  source = src;
  clearProblems();
  $('extra').value = '';
  if (!(await loadFields())) {
    setStatus('not run: see the scenario\u2019s problem above');
    document.body.dataset.state = 'error';
    return;
  }
  fillSets(sets);
  $('seed').value = seed !== null && seed !== undefined ? seed : defaultSeed;
  await update();
}

async function start() {
  const list = await (await fetch('/api/scenarios')).json();
  const sel = $('scenario');
  for (const s of list) {
    const o = document.createElement('option');
    o.value = s.name;
    o.textContent = s.name;
    o.title = s.description;
    sel.appendChild(o);
  }
  const describe = () => {
    const s = list.find((x) => x.name === sel.value);
    $('description').textContent = s ? s.description : '';
  };
  const p = new URLSearchParams(location.hash.slice(1));
  const sets = p.getAll('set');
  const seed = p.get('seed');
  sel.addEventListener('change', () => {
    describe();
    switchTo({ scenario: sel.value, text: null, file: null }, [], null);
  });
  $('form').addEventListener('input', later);
  $('form').addEventListener('change', later);
  $('seed').addEventListener('input', later);
  $('extra').addEventListener('input', later);
  $('use-text').addEventListener('click', () => {
    sel.value = '';
    describe();
    switchTo({ scenario: null, text: $('text').value, file: $('upload').dataset.name || null }, [], null);
  });
  $('upload').addEventListener('change', async () => {
    const f = $('upload').files[0];
    if (!f) return;
    $('text').value = await f.text();
    $('upload').dataset.name = f.name;
  });
  $('dl-scenario').addEventListener('click', () => download('scenario'));
  $('dl-report').addEventListener('click', () => download('report'));
  $('dl-workbook').addEventListener('click', () => download('workbook'));
  if (p.has('text')) {
    $('own').open = true;
    $('text').value = p.get('text');
    sel.value = '';
    await switchTo({ scenario: null, text: p.get('text'), file: p.get('file') }, sets, seed);
  } else {
    const name = p.get('scenario') || (list.some((s) => s.name === 'startup-growth') ? 'startup-growth' : list[0].name);
    sel.value = name;
    describe();
    await switchTo({ scenario: name, text: null, file: null }, sets, seed);
  }
}

start();
