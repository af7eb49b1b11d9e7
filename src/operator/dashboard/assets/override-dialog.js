// @ts-check
// The dashboard's override dialog: picks a node, sends PUT/DELETE /api/v1/nodes/{name}/override with the admin token.
// Self-contained: dashboard.js announces the node names ('drainwatch:nodes') and row clicks ('drainwatch:override') as DOM events.
'use strict';

(function () {
  /** Node names of the latest snapshot, in table order. */
  /** @type {string[]} */
  var names = [];

  /**
   * The element with `id`, of the given kind; the page ships every id this dialog uses.
   * @template {HTMLElement} T
   * @param {string} id
   * @param {{ new (): T, prototype: T }} kind
   * @returns {T}
   */
  function byId(id, kind) {
    var node = document.getElementById(id);
    if (!(node instanceof kind)) throw new Error('dashboard page has no #' + id + ' of the expected kind');
    return node;
  }

  /** @param {string} id */
  function input(id) { return byId(id, HTMLInputElement); }

  function refreshNodeSelect() {
    var select = byId('ov-node', HTMLSelectElement);
    var current = select.value;
    if (select.options.length === names.length && names.every(function (name, i) { var option = select.options[i]; return option !== undefined && option.value === name; })) return;
    select.textContent = '';
    names.forEach(function (name) { var o = document.createElement('option'); o.textContent = name; o.value = name; select.appendChild(o); });
    if (current) select.value = current;
  }

  /**
   * @param {'' | 'ok' | 'error'} kind
   * @param {string} text
   */
  function showResult(kind, text) {
    var box = byId('ov-result', HTMLElement);
    box.className = 'result ' + kind;
    box.textContent = text;
  }

  /** @param {string | null} name */
  function openDialog(name) {
    refreshNodeSelect();
    if (name) byId('ov-node', HTMLSelectElement).value = name;
    var token = input('ov-token');
    var saved = sessionStorage.getItem('drainwatch-token');
    if (saved && !token.value) { token.value = saved; input('ov-remember').checked = true; }
    var user = localStorage.getItem('drainwatch-user');
    if (user && !input('ov-user').value) input('ov-user').value = user;
    showResult('', '');
    byId('override-dialog', HTMLDialogElement).showModal();
  }

  /** @param {'PUT' | 'DELETE'} method */
  function send(method) {
    var name = byId('ov-node', HTMLSelectElement).value;
    var token = input('ov-token').value.trim();
    if (!token) { showResult('error', 'Enter the admin token.'); return; }
    if (input('ov-remember').checked) sessionStorage.setItem('drainwatch-token', token); else sessionStorage.removeItem('drainwatch-token');
    var user = input('ov-user').value.trim();
    if (user) localStorage.setItem('drainwatch-user', user);
    /** @type {Record<string, string>} */
    var headers = { 'Authorization': 'Bearer ' + token, 'Content-Type': 'application/json' };
    if (user) headers['X-Drainwatch-User'] = user;
    /** @type {string | undefined} */
    var body;
    if (method === 'PUT') {
      /** @type {HTMLInputElement | null} */
      var checked = document.querySelector('input[name="state"]:checked');
      /** @type {{ state: string, reason: string, expires_in?: string }} */
      var payload = { state: checked ? checked.value : 'drain', reason: input('ov-reason').value.trim() };
      var expires = input('ov-expires').value.trim();
      if (expires) payload.expires_in = expires;
      body = JSON.stringify(payload);
    }
    showResult('', 'Sending…');
    fetch('/api/v1/nodes/' + encodeURIComponent(name) + '/override', { method: method, headers: headers, body: body })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (data) {
          if (!response.ok) { showResult('error', (data && data.error) || ('HTTP ' + response.status)); return; }
          if (method === 'DELETE') showResult('ok', data.cleared ? 'Override on ' + name + ' cleared.' : (data.message || 'No override to clear.'));
          else showResult('ok', 'Override on ' + name + ' applied: now ' + data.node.state + '.' + (data.warning ? ' ' + data.warning : ''));
        });
      })
      .catch(function (error) { showResult('error', 'Request failed: ' + error.message); });
  }

  // Registered now, not at DOMContentLoaded: deferred scripts run before it, and dashboard.js renders only after it.
  document.addEventListener('drainwatch:nodes', function (event) {
    names = /** @type {CustomEvent<string[]>} */ (event).detail;
    refreshNodeSelect();
  });
  document.addEventListener('drainwatch:override', function (event) {
    openDialog(/** @type {CustomEvent<string>} */ (event).detail);
  });

  document.addEventListener('DOMContentLoaded', function () {
    byId('open-override', HTMLElement).addEventListener('click', function () { openDialog(null); });
    byId('ov-cancel', HTMLElement).addEventListener('click', function () { byId('override-dialog', HTMLDialogElement).close(); });
    byId('ov-clear', HTMLElement).addEventListener('click', function () { send('DELETE'); });
    byId('override-form', HTMLElement).addEventListener('submit', function (event) { event.preventDefault(); send('PUT'); });
  });
})();
