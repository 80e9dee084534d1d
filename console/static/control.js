// Siyu live control room: live numbers, chat and orders over server-sent
// events, and the room's actions sent without leaving the page.
(function () {
  'use strict';
  var room = document.getElementById('control');
  if (!room) { return; }
  var showID = room.dataset.show;
  var base = '/console/shows/' + encodeURIComponent(showID) + '/live';
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var chat = document.getElementById('chat');
  var ordersBody = document.getElementById('orders-body');
  var state = document.getElementById('feed-state');
  var L = room.dataset;
  var lastID = room.dataset.last || '';

  function yuan(fen) {
    var s = (Math.abs(fen) / 100).toFixed(2);
    return (fen < 0 ? '-' : '') + '¥' + s;
  }
  function clock(iso) {
    var d = new Date(iso);
    // Asia/Shanghai, whatever the browser's zone.
    var cst = new Date(d.getTime() + (d.getTimezoneOffset() + 480) * 60000);
    var p = function (n) { return (n < 10 ? '0' : '') + n; };
    return p(cst.getHours()) + ':' + p(cst.getMinutes()) + ':' + p(cst.getSeconds());
  }
  function toast(msg, bad) {
    var t = document.getElementById('toast');
    t.textContent = msg;
    t.className = 'toast show' + (bad ? ' bad' : '');
    clearTimeout(t._h);
    t._h = setTimeout(function () { t.className = 'toast'; }, 2600);
  }

  function setTile(key, text) {
    var el = room.querySelector('[data-k="' + key + '"]');
    if (!el || el.textContent === text) { return; }
    el.textContent = text;
    el.classList.remove('flash');
    void el.offsetWidth;
    el.classList.add('flash');
  }

  function onPulse(p) {
    setTile('viewers', String(p.viewers));
    setTile('peak_viewers', String(p.peak_viewers));
    setTile('comments_per_minute', String(p.comments_per_minute));
    setTile('likes', String(p.likes));
    setTile('product_clicks', String(p.product_clicks));
    setTile('orders', String(p.orders));
    setTile('paid_orders', String(p.paid_orders));
    setTile('gmv', yuan(p.gmv));
    room.querySelectorAll('.product').forEach(function (el) {
      el.classList.toggle('pinned', el.dataset.product === (p.pinned_product_id || ''));
    });
    var ann = document.getElementById('announcement-now');
    if (ann) { ann.textContent = p.announcement || L.lNone; }
    var st = document.getElementById('show-status');
    if (st && p.status && st.dataset.status !== p.status) {
      st.dataset.status = p.status;
      st.textContent = L['lStatus_' + p.status] || p.status;
      st.className = 'badge ' + p.status;
    }
  }

  function button(label, type, field, value, cls) {
    var f = document.createElement('form');
    f.className = 'inline js';
    f.method = 'post';
    f.action = base + '/actions';
    [['_csrf', csrf], ['type', type], [field, value]].forEach(function (kv) {
      var i = document.createElement('input');
      i.type = 'hidden'; i.name = kv[0]; i.value = kv[1];
      f.appendChild(i);
    });
    var b = document.createElement('button');
    b.type = 'submit'; b.textContent = label; if (cls) { b.className = cls; }
    f.appendChild(b);
    return f;
  }

  function addComment(c) {
    if (document.getElementById('c-' + c.id)) { return; }
    var line = document.createElement('div');
    line.className = 'line' + (c.status === 'hidden' ? ' hidden' : '');
    line.id = 'c-' + c.id;
    var at = document.createElement('span'); at.className = 'muted small'; at.textContent = clock(c.at);
    var who = document.createElement('span'); who.className = 'who'; who.textContent = c.nickname || c.member_id.slice(0, 8);
    var text = document.createElement('span'); text.className = 'text'; text.textContent = c.text;
    var tools = document.createElement('span'); tools.className = 'tools';
    tools.appendChild(button(L.lDelete, 'delete_comment', 'comment_id', c.id, 'link'));
    tools.appendChild(button(L.lMute, 'mute_viewer', 'member_id', c.member_id, 'link'));
    line.append(at, who, text, tools);
    var atBottom = chat.scrollHeight - chat.scrollTop - chat.clientHeight < 40;
    chat.appendChild(line);
    if (atBottom) { chat.scrollTop = chat.scrollHeight; }
    lastID = c.id;
  }

  function onOrders(list) {
    ordersBody.textContent = '';
    if (!list.length) {
      var tr = document.createElement('tr');
      var td = document.createElement('td'); td.colSpan = 4; td.className = 'muted'; td.textContent = L.lNoOrders;
      tr.appendChild(td); ordersBody.appendChild(tr);
      return;
    }
    list.forEach(function (o) {
      var tr = document.createElement('tr');
      tr.id = 'o-' + o.id;
      var cells = [clock(o.at), o.items, yuan(o.total)];
      cells.forEach(function (txt, i) {
        var td = document.createElement('td'); td.textContent = txt;
        if (i === 2) { td.className = 'num'; }
        tr.appendChild(td);
      });
      var st = document.createElement('td');
      var b = document.createElement('span'); b.className = 'badge ' + o.status; b.textContent = L['lOrder_' + o.status] || o.status;
      st.appendChild(b); tr.appendChild(st);
      ordersBody.appendChild(tr);
    });
  }

  var es;
  function connect() {
    es = new EventSource(base + '/events?after=' + encodeURIComponent(lastID));
    es.addEventListener('open', function () { state.textContent = L.lFeedOn; state.className = 'feed-state on'; });
    es.addEventListener('error', function () { state.textContent = L.lFeedOff; state.className = 'feed-state'; });
    es.addEventListener('pulse', function (e) { onPulse(JSON.parse(e.data)); });
    es.addEventListener('comments', function (e) { JSON.parse(e.data).forEach(addComment); });
    es.addEventListener('orders', function (e) { onOrders(JSON.parse(e.data)); });
  }
  connect();
  chat.scrollTop = chat.scrollHeight;

  // Forms of the room are sent in the background; the page stays.
  document.addEventListener('submit', function (e) {
    var f = e.target;
    if (!f.classList.contains('js')) { return; }
    e.preventDefault();
    var btn = f.querySelector('button[type=submit]');
    if (btn) { btn.disabled = true; }
    fetch(f.action, {
      method: 'POST',
      headers: { 'X-Siyu-Fetch': '1', 'X-CSRF-Token': csrf, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(new FormData(f)),
      credentials: 'same-origin'
    }).then(function (r) {
      return r.json().then(function (body) { return { ok: r.ok, body: body }; });
    }).then(function (res) {
      if (res.ok) {
        toast(res.body.message || 'OK');
        var type = f.querySelector('input[name=type]');
        if (type && type.value === 'delete_comment') {
          var id = f.querySelector('input[name=comment_id]').value;
          var line = document.getElementById('c-' + id);
          if (line) { line.remove(); }
        }
        if (f.dataset.reset !== undefined) { f.reset(); }
      } else {
        toast((res.body.error && res.body.error.message) || L.lFailed, true);
      }
    }).catch(function () {
      toast(L.lFailed, true);
    }).finally(function () {
      if (btn) { btn.disabled = false; }
    });
  });
})();
