// hydrakit-router dashboard: draws the snapshots the router pushes on /dashboard/events. No polling:
// the browser's EventSource reconnects by itself when the stream drops.
(function () {
  'use strict';

  var token = new URLSearchParams(location.search).get('token');
  function withToken(path) {
    if (!token) return path;
    return path + (path.indexOf('?') < 0 ? '?' : '&') + 'token=' + encodeURIComponent(token);
  }

  var $ = function (id) { return document.getElementById(id); };
  var tilesEl = $('tiles'), search = $('search'), hideDead = $('hide-dead');
  var tiles = {};      // instance ID -> tile element
  var openRoutes = {}; // service -> routes list expanded
  var last = null;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function bytes(n) {
    if (!n) return '—';
    var units = ['B', 'KB', 'MB', 'GB'], i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return n.toFixed(i ? 1 : 0) + ' ' + units[i];
  }

  function duration(s) {
    s = Math.max(0, Math.floor(s));
    var d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
    if (d) return d + 'd ' + h + 'h';
    if (h) return h + 'h ' + m + 'm';
    if (m) return m + 'm ' + (s % 60) + 's';
    return s + 's';
  }

  function rate(r) { return r ? (r < 10 ? r.toFixed(1) : Math.round(r)) + '/s' : '0'; }

  function seconds(from, to) { return (Date.parse(to) - Date.parse(from)) / 1000; }

  function matches(service) {
    var q = search.value.trim().toLowerCase();
    return !q || service.toLowerCase().indexOf(q) >= 0;
  }

  function row(dl, label, value, cls) {
    dl.appendChild(el('dt', '', label));
    var dd = el('dd', cls || '', value);
    dd.title = value; // the whole value, where the tile cuts it
    dl.appendChild(dd);
  }

  function drawTile(t, inst, at) {
    var router = inst.service === 'hydra-router';
    t.className = 'tile' + (inst.live ? '' : ' dead') + (router ? ' router' : '');
    t.dataset.service = inst.service;
    t.dataset.state = inst.live ? 'live' : 'dead';
    t.textContent = '';
    var head = el('header');
    // The state is said in text and shape too, not only in colour.
    head.appendChild(el('span', 'icon', inst.live ? (router ? '⇄' : '▲') : '✖'));
    var title = el('h3', '', inst.service);
    title.title = inst.description || inst.service;
    head.appendChild(title);
    head.appendChild(el('span', 'badge', inst.live ? 'LIVE' : 'PRESENCE LOST'));
    t.appendChild(head);
    var dl = el('dl');
    row(dl, 'Instance', inst.id, 'mono');
    row(dl, 'Host', inst.host || '—');
    row(dl, 'Address', !inst.ip ? '—' : inst.port ? inst.ip + ':' + inst.port : inst.ip + ' (no HTTP port)', 'mono');
    row(dl, 'Version', inst.version || '—');
    var h = inst.health;
    if (inst.live) {
      row(dl, 'Uptime', h && !h.unreadable ? duration(h.uptimeSeconds + seconds(h.sampledOn, at)) : '—');
      var status = !h ? 'no health key' : h.unreadable ? 'unreadable' : (h.status || 'reported');
      row(dl, 'Health', status, h && h.status ? 'status-' + h.status : '');
      row(dl, 'Memory', h && !h.unreadable ? 'RSS ' + bytes(h.rss) + ' · heap ' + bytes(h.heapUsed) : '—');
    } else {
      var ago = Date.parse(inst.updatedOn) > 0 ? duration(seconds(inst.updatedOn, at)) + ' ago' : 'unknown';
      row(dl, 'Last seen', ago);
    }
    t.appendChild(dl);
  }

  function drawTiles(s) {
    var seen = {}, prev = null, shown = 0, live = 0, dead = 0;
    s.instances.forEach(function (inst) {
      seen[inst.id] = true;
      inst.live ? live++ : dead++;
      var t = tiles[inst.id];
      if (!t) {
        t = tiles[inst.id] = el('article');
        t.dataset.instance = inst.id;
      }
      drawTile(t, inst, s.at);
      t.hidden = !matches(inst.service) || (hideDead.checked && !inst.live);
      if (!t.hidden) shown++;
      // Keep the server's order (service, then ID) without re-inserting tiles that are in place.
      var want = prev ? prev.nextSibling : tilesEl.firstChild;
      if (want !== t) tilesEl.insertBefore(t, want);
      prev = t;
    });
    Object.keys(tiles).forEach(function (id) {
      if (!seen[id]) { tiles[id].remove(); delete tiles[id]; }
    });
    $('no-tiles').hidden = shown > 0;
    var parts = [live + ' live', dead + ' dead', s.services.length + ' services'];
    if (s.unfollowed) parts.push(s.unfollowed + ' more services not followed');
    if (s.hidden) parts.push(s.hidden + ' tiles not shown');
    $('summary').textContent = parts.join(' · ');
  }

  function drawServices(s) {
    var body = $('services').tBodies[0];
    body.textContent = '';
    s.services.forEach(function (svc) {
      if (!matches(svc.name)) return;
      var tr = el('tr');
      tr.dataset.service = svc.name;
      tr.appendChild(el('td', '', svc.name));
      tr.appendChild(el('td', 'num' + (svc.live ? '' : ' hot'), String(svc.live)));
      tr.appendChild(el('td', 'num', rate(svc.requestRate)));
      tr.appendChild(el('td', 'num' + (svc.errorRate ? ' hot' : ''), rate(svc.errorRate)));
      tr.appendChild(el('td', 'num', String(svc.requests)));
      tr.appendChild(el('td', 'num', String(svc.errors)));
      tr.appendChild(el('td', 'num', String(svc.queue.received)));
      tr.appendChild(el('td', 'num', String(svc.queue.inProgress)));
      tr.appendChild(el('td', 'num' + (svc.queue.deadLetters ? ' hot' : ''), String(svc.queue.deadLetters)));
      var cell = el('td');
      if (svc.routesTotal) {
        var det = el('details');
        det.open = !!openRoutes[svc.name];
        det.addEventListener('toggle', function () { openRoutes[svc.name] = det.open; });
        det.appendChild(el('summary', '', svc.routesTotal + (svc.routesTotal === 1 ? ' route' : ' routes')));
        var ul = el('ul');
        svc.routes.forEach(function (r) { ul.appendChild(el('li', '', r)); });
        if (svc.routesTotal > svc.routes.length) ul.appendChild(el('li', '', '… ' + (svc.routesTotal - svc.routes.length) + ' more'));
        det.appendChild(ul);
        cell.appendChild(det);
      } else {
        cell.textContent = '—';
      }
      tr.appendChild(cell);
      body.appendChild(tr);
    });
  }

  function drawClients(s) {
    var ul = $('clients');
    ul.textContent = '';
    $('client-count').textContent = '(' + s.clients.total + ')';
    s.clients.ids.forEach(function (id) { ul.appendChild(el('li', '', id)); });
    if (s.clients.total > s.clients.ids.length) ul.appendChild(el('li', '', '… ' + (s.clients.total - s.clients.ids.length) + ' more'));
  }

  function render() {
    if (!last) return;
    var s = last, r = s.router;
    var line = 'hydrakit-router (' + (r.version || 'unknown') + ') running on ' + (r.host || 'unknown') + ' - (' + (r.instanceID || 'unknown') + ')';
    $('headline').textContent = line;
    var err = $('error');
    err.hidden = !s.error;
    err.textContent = s.error ? 'Reading the fleet failed; showing the last known state. ' + s.error : '';
    drawTiles(s);
    drawServices(s);
    drawClients(s);
    $('footer').textContent = 'Updated ' + new Date(s.at).toLocaleTimeString() + ' (pushed by the router).';
  }

  function connect() {
    var conn = $('conn');
    var es = new EventSource(withToken('/dashboard/events'));
    es.addEventListener('open', function () { conn.textContent = 'live'; conn.className = 'conn on'; });
    es.addEventListener('error', function () { conn.textContent = 'reconnecting…'; conn.className = 'conn off'; });
    es.addEventListener('snapshot', function (e) {
      last = JSON.parse(e.data);
      render();
    });
  }

  search.addEventListener('input', render);
  hideDead.addEventListener('change', render);

  var clearButton = $('clear-dead');
  clearButton.addEventListener('click', function () {
    var note = $('note');
    clearButton.disabled = true;
    note.textContent = 'clearing…';
    // The router answers with a redirect to the page, as hydra-router does; it is not followed.
    fetch(withToken('/v1/router/clear'), { redirect: 'manual', credentials: 'same-origin' })
      .then(function (res) {
        note.textContent = res.ok || res.type === 'opaqueredirect' ? 'dead entries cleared' : 'clear failed: HTTP ' + res.status;
      })
      .catch(function (e) { note.textContent = 'clear failed: ' + e.message; })
      .finally(function () { clearButton.disabled = false; });
  });

  connect();
})();
