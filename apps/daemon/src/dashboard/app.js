// The dashboard's script, served as /dashboard/app.js (the page's Content-Security-Policy allows scripts from
// the daemon only, none inline). Plain browser JavaScript, no build step, no dependencies.
//
// It polls GET /v1/admin/actors every second and, when GET /v1/admin/inspect answers, follows that NDJSON
// stream and refreshes at once on each record. Polling alone is enough; the stream only makes it quicker.
// The message-rate sparkline is computed here from the differences of `counters.received` between polls.
// Both are same-origin fetches, never a WebSocket: with API tokens the browser sends the Basic credentials the
// user typed into its prompt (the token as password) on fetches, which it does not do on every WebSocket
// handshake.
'use strict';

(() => {
  // Only in a page (a tool that loads this file as a module elsewhere gets nothing).
  if (typeof document === 'undefined') return;
  const POLL_MS = 1000;
  const HISTORY = 60; // samples (seconds) per sparkline
  const STREAM_RETRY_MS = 5000;

  /** account → { samples: [{t, received}], card } */
  const accounts = new Map();
  let lastDump = null;
  let refreshing = false;
  let refreshAgain = false;
  let streaming = false;
  let reachable = null;

  const $ = (id) => document.getElementById(id);

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    if (attrs) for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    for (const c of children ?? []) node.append(c);
    return node;
  }

  const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  const fmt = (v) => (num(v) === null ? '–' : v.toLocaleString('en-US'));

  function fmtBytes(v) {
    if (num(v) === null) return '–';
    if (v < 1024) return `${v} B`;
    if (v < 1024 * 1024) return `${(v / 1024).toFixed(1)} KiB`;
    return `${(v / 1024 / 1024).toFixed(1)} MiB`;
  }

  function fmtAge(ms) {
    if (num(ms) === null) return '–';
    const s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) return `${s}s`;
    if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
    if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
    return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
  }

  const ageSince = (t) => (num(t) === null ? null : Date.now() - t);

  function setLink(kind, text) {
    const link = $('link');
    link.dataset.link = kind;
    link.textContent = text;
  }

  // ---- fetching ----------------------------------------------------------------------------------------

  async function refresh() {
    if (refreshing) {
      refreshAgain = true;
      return;
    }
    refreshing = true;
    try {
      const res = await fetch('/v1/admin/actors', { cache: 'no-store', headers: { accept: 'application/json' } });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      render(await res.json());
      reachable = true;
    } catch (err) {
      reachable = false;
      setLink('down', `daemon unreachable (${err instanceof Error ? err.message : String(err)})`);
    } finally {
      refreshing = false;
      if (reachable) setLink(streaming ? 'stream' : 'polling', streaming ? 'live: inspection stream' : 'live: polling');
      if (refreshAgain) {
        refreshAgain = false;
        void refresh();
      }
    }
  }

  /** Every poll adds one sample per account; the sparkline shows the rate between samples. */
  function sample(dump) {
    const t = Date.now();
    for (const a of dump?.broker?.accounts ?? []) {
      const entry = accounts.get(a.account);
      const received = num(a.counters?.received);
      if (!entry || received === null) continue;
      entry.samples.push({ t, received });
      if (entry.samples.length > HISTORY + 1) entry.samples.shift();
    }
  }

  let pollTimer;
  async function poll() {
    await refresh();
    if (lastDump) {
      sample(lastDump);
      drawSparklines();
    }
    pollTimer = setTimeout(poll, POLL_MS);
  }

  /** Follows /v1/admin/inspect when the daemon has it; any record means "something changed: refresh now". */
  async function follow() {
    let res;
    try {
      res = await fetch('/v1/admin/inspect', { cache: 'no-store', headers: { accept: 'application/x-ndjson' } });
    } catch {
      setTimeout(follow, STREAM_RETRY_MS);
      return;
    }
    if (res.status !== 200 || !res.body) {
      // Not there (an older daemon): polling carries on alone. Look again later, quietly.
      setTimeout(follow, STREAM_RETRY_MS * 6);
      return;
    }
    streaming = true;
    $('stream-note').textContent = ' and follows /v1/admin/inspect';
    setLink('stream', 'live: inspection stream');
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffered = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffered += value;
        let nl;
        let changed = false;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (line === '') continue;
          let record;
          try {
            record = JSON.parse(line);
          } catch {
            continue;
          }
          // Every record, the hello line included, means "look again": the page renders GET /v1/admin/actors
          // (the stream's copy of the dump shows numbers as tags, the cards are keyed by number).
          changed = true;
        }
        if (changed) void refresh();
      }
    } catch {
      // the stream broke (daemon restarted): fall back to polling and retry
    }
    streaming = false;
    $('stream-note').textContent = '';
    if (reachable) setLink('polling', 'live: polling');
    setTimeout(follow, STREAM_RETRY_MS);
  }

  // ---- rendering -----------------------------------------------------------------------------------------

  function render(dump) {
    lastDump = dump;
    const version = dump?.daemon?.version;
    $('version').textContent = version ? `v${version}` : '';
    renderCli(dump?.signalCli);
    renderCluster(dump?.cluster);
    const list = dump?.broker?.accounts ?? [];
    const seen = new Set();
    const main = $('accounts');
    for (const a of list) {
      seen.add(a.account);
      let entry = accounts.get(a.account);
      if (!entry) {
        entry = { samples: [], card: buildCard(a.account) };
        accounts.set(a.account, entry);
      }
      if (entry.card.parentNode !== main) main.append(entry.card);
      fillCard(entry.card, a);
    }
    for (const [account, entry] of accounts) {
      if (!seen.has(account)) {
        entry.card.remove();
        accounts.delete(account);
      }
    }
    $('empty').hidden = list.length > 0;
  }

  function renderCli(cli) {
    const status = cli?.status ?? 'unknown';
    const s = $('cli-status');
    s.textContent = status;
    s.dataset.state = status;
    const c = cli?.context ?? {};
    $('cli-pid').textContent = c.pid ?? '–';
    $('cli-uptime').textContent = c.readyAt ? fmtAge(ageSince(c.readyAt)) : c.startedAt ? `starting ${fmtAge(ageSince(c.startedAt))}` : '–';
    $('cli-restarts').textContent = fmt(c.restarts);
    $('cli-version').textContent = c.version ?? '–';
    const f = c.lastFailure;
    $('cli-failure').textContent = f ? `${f.code ?? ''} ${f.reason ?? ''}: ${f.message ?? ''} (${fmtAge(ageSince(f.at))} ago)`.trim() : 'none';
  }

  /** A table of rows (arrays of text), with its header; replaced whole on each poll (it has a few rows). */
  function fillTable(table, head, rows) {
    const headRow = el('tr', {}, head.map(([label, cls]) => el('th', cls ? { class: cls } : {}, [label])));
    const body = rows.map((cells) => el('tr', {}, cells.map((text, i) => el('td', head[i][1] ? { class: head[i][1] } : {}, [String(text)]))));
    table.replaceChildren(el('thead', {}, [headRow]), el('tbody', {}, body));
  }

  // Cluster mode only (SIGNAL_BROKER_CLUSTER=on): this daemon's lease, the daemons, and who owns each account.
  function renderCluster(cluster) {
    const section = $('cluster');
    section.hidden = !cluster;
    if (!cluster) return;
    const self = cluster.self ?? {};
    $('cluster-self').textContent = self.id ?? '–';
    const role = $('cluster-role');
    role.textContent = self.role ?? '–';
    role.dataset.state = self.role ?? '';
    $('cluster-shard').textContent = self.shard ?? '–';
    $('cluster-holder').textContent = self.holder ?? 'none';
    const fence = self.lastFence;
    $('cluster-fences').textContent = fence ? `${fmt(self.fences)} (last: ${fence.reason}${fence.by ? ` by ${fence.by}` : ''}, ${fmtAge(ageSince(fence.at))} ago)` : fmt(self.fences);
    const problem = cluster.error ?? self.lastError;
    $('cluster-error').textContent = problem ? `${problem.code}: ${problem.message}` : 'ok';
    fillTable(
      $('cluster-daemons'),
      [['daemon'], ['role'], ['shard'], ['accounts', 'num'], ['heartbeat', 'num']],
      (cluster.daemons ?? []).map((d) => [d.id, d.role, d.shard, fmt(d.accounts?.length ?? 0), `${fmtAge(d.ageMs)} ago`]),
    );
    fillTable(
      $('cluster-accounts'),
      [['account'], ['owner'], ['first', 'num'], ['last', 'num'], ['messages', 'num']],
      (cluster.accounts ?? []).map((a) => [
        a.account,
        a.owner ? `${a.owner.holder}${a.owner.live ? '' : ' (lease gone)'}` : 'none',
        a.stream ? fmt(a.stream.first) : '–',
        a.stream ? fmt(a.stream.last) : '–',
        a.stream ? fmt(a.stream.messages) : '–',
      ]),
    );
  }

  const FIGURES = [
    ['clients', 'clients'],
    ['received', 'received'],
    ['delivered', 'delivered'],
    ['dropped', 'dropped'],
    ['backlog', 'inbox backlog'],
    ['queued', 'calls queued'],
    ['inFlight', 'calls in flight'],
    ['lastMessage', 'last message'],
  ];

  function buildCard(account) {
    const state = el('span', { class: 'state', 'data-field': 'state' });
    const figures = el(
      'div',
      { class: 'figures' },
      FIGURES.map(([key, label]) =>
        el('div', { class: 'figure', 'data-figure': key }, [el('span', { class: 'v', 'data-field': key }, ['–']), el('span', { class: 'k' }, [label])]),
      ),
    );
    const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    svg.setAttribute('viewBox', `0 0 ${HISTORY} 36`);
    svg.setAttribute('preserveAspectRatio', 'none');
    svg.setAttribute('aria-label', 'messages per second, last minute');
    const line = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
    line.setAttribute('vector-effect', 'non-scaling-stroke');
    svg.append(line);
    const spark = el('div', { class: 'spark' }, [svg, el('span', { class: 'rate', 'data-field': 'rate' }, ['– msg/s'])]);
    const subs = el('div', { 'data-field': 'subscribers' });
    const card = el('article', { class: 'card', 'data-account': account }, [
      el('div', { class: 'card-head' }, [el('h2', {}, [account]), state]),
      figures,
      spark,
      subs,
    ]);
    return card;
  }

  function setField(card, key, text) {
    const node = card.querySelector(`[data-field="${key}"]`);
    if (node && node.textContent !== text) node.textContent = text;
  }

  function fillCard(card, a) {
    const state = typeof a.state === 'string' ? a.state : JSON.stringify(a.state);
    const stateNode = card.querySelector('[data-field="state"]');
    stateNode.textContent = state;
    stateNode.dataset.state = state;
    const subscribers = Array.isArray(a.subscribers) ? a.subscribers : [];
    const backlog = a.inbox ? (num(a.inbox.backlog) ?? num(a.inbox.depth)) : null;
    setField(card, 'clients', fmt(subscribers.length));
    setField(card, 'received', fmt(a.counters?.received));
    setField(card, 'delivered', fmt(a.counters?.delivered));
    setField(card, 'dropped', fmt(a.counters?.dropped));
    setField(card, 'backlog', a.inbox ? fmt(backlog) : 'off');
    setField(card, 'queued', fmt(a.calls?.queued));
    setField(card, 'inFlight', fmt(a.calls?.inFlight));
    setField(card, 'lastMessage', a.lastReceivedAt ? `${fmtAge(ageSince(a.lastReceivedAt))} ago` : 'never');
    card.querySelector('[data-figure="dropped"]').classList.toggle('alert', (a.counters?.dropped ?? 0) > 0);
    card.querySelector('[data-figure="queued"]').classList.toggle('alert', (a.calls?.queued ?? 0) > 0);

    const box = card.querySelector('[data-field="subscribers"]');
    box.replaceChildren(
      subscribers.length === 0
        ? el('p', { class: 'none' }, ['no clients attached'])
        : el('table', {}, [
            el('thead', {}, [
              el('tr', {}, [
                el('th', {}, ['client']),
                el('th', {}, ['consumer']),
                el('th', {}, ['mode']),
                el('th', { class: 'num' }, ['delivered']),
                el('th', { class: 'num' }, ['buffered']),
                el('th', { class: 'num' }, ['attached']),
              ]),
            ]),
            el(
              'tbody',
              {},
              subscribers.map((s) =>
                el('tr', { 'data-subscriber': String(s.id) }, [
                  el('td', {}, [`${s.id}${s.remote ? ` ${s.remote}` : ''}`]),
                  el('td', {}, [s.consumer ?? (s.shared ? 'shared' : '–')]),
                  el('td', {}, [s.mode ?? '–']),
                  el('td', { class: 'num' }, [fmt(s.framesDelivered)]),
                  el('td', { class: 'num' }, [fmtBytes(s.bytesBuffered)]),
                  el('td', { class: 'num' }, [s.attachedAt ? fmtAge(ageSince(s.attachedAt)) : '–']),
                ]),
              ),
            ),
          ]),
    );
  }

  function drawSparklines() {
    for (const { samples, card } of accounts.values()) {
      const rates = [];
      for (let i = 1; i < samples.length; i++) {
        const dt = (samples[i].t - samples[i - 1].t) / 1000;
        // A counter that went down is a replacement actor starting again from zero.
        const d = samples[i].received - samples[i - 1].received;
        rates.push(dt > 0 && d >= 0 ? d / dt : 0);
      }
      const max = Math.max(1, ...rates);
      const offset = HISTORY - rates.length;
      const points = rates.map((r, i) => `${offset + i + 1},${(34 - (r / max) * 32).toFixed(1)}`).join(' ');
      card.querySelector('polyline').setAttribute('points', points);
      const now = rates.length > 0 ? rates[rates.length - 1] : null;
      setField(card, 'rate', now === null ? '– msg/s' : `${now < 10 ? now.toFixed(1) : Math.round(now)} msg/s`);
    }
  }

  void poll();
  void follow();
  window.addEventListener('pagehide', () => clearTimeout(pollTimer));
})();
