// Dashboard panel for the running maintenance plan: each node's state, calls left, time since entering, and the next node.
// Self-contained: it adds its own section at the top of <main> and polls GET /api/v1/maintenance (read-only, no token).
'use strict';

(() => {
  const POLL_MS = 2000;
  const ACTIVE = new Set(['running', 'waiting']);

  function seconds(ms) {
    if (ms === null || ms === undefined) return '';
    const s = Math.max(0, Math.round(ms / 1000));
    return s >= 120 ? `${Math.floor(s / 60)}m${s % 60 ? ` ${s % 60}s` : ''}` : `${s}s`;
  }

  function el(tag, text, style) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    // CSSOM assignments are allowed under the page's style-src 'self' (inline style attributes are not).
    if (style) Object.assign(node.style, style);
    return node;
  }

  const COLORS = {
    queued: 'var(--unknown)', entering: 'var(--accent)', draining: 'var(--draining)', drained: 'var(--ready)', failed: 'var(--down)',
  };

  function render(section, plan) {
    section.replaceChildren();
    if (!plan) {
      section.hidden = true;
      return;
    }
    section.hidden = false;
    const head = el('div', undefined, { display: 'flex', gap: '12px', alignItems: 'baseline', flexWrap: 'wrap', marginBottom: '8px' });
    head.append(
      el('strong', `Maintenance plan ${plan.id}: ${plan.state}`),
      el('span', `${plan.reason} · spacing ${seconds(plan.spacing_ms)} · by ${plan.created_by}`, { color: 'var(--muted)' }),
    );
    section.append(head);
    if (plan.waiting_reason) section.append(el('div', `Waiting: ${plan.waiting_reason}`, { color: 'var(--draining)', marginBottom: '6px' }));
    if (plan.next && ACTIVE.has(plan.state)) {
      const when = plan.next.in_ms === null ? 'when the guard allows' : plan.next.in_ms > 0 ? `in ${seconds(plan.next.in_ms)}` : 'now';
      section.append(el('div', `Next: ${plan.next.name} enters ${when}`, { marginBottom: '6px' }));
    }
    const table = el('table', undefined, { borderCollapse: 'collapse', width: '100%' });
    const header = el('tr');
    for (const title of ['Node', 'State', 'Calls left', 'Since entering', 'Detail']) header.append(el('th', title, { textAlign: 'left', padding: '4px 8px', color: 'var(--muted)', fontWeight: '600' }));
    table.append(header);
    for (const node of plan.nodes) {
      const row = el('tr');
      const since = node.drain_ms !== null ? `drained in ${seconds(node.drain_ms)}` : seconds(node.since_entered_ms);
      row.append(
        el('td', node.name, { padding: '4px 8px', fontWeight: '600' }),
        el('td', node.state, { padding: '4px 8px', color: COLORS[node.state] || 'inherit', fontWeight: '600' }),
        el('td', node.calls === null ? '–' : String(node.calls), { padding: '4px 8px' }),
        el('td', since || '–', { padding: '4px 8px' }),
        el('td', node.detail, { padding: '4px 8px', color: 'var(--muted)' }),
      );
      table.append(row);
    }
    section.append(table);
  }

  function start() {
    const main = document.querySelector('main');
    if (!main) return;
    const section = el('section', undefined, {
      background: 'var(--panel)', border: '1px solid var(--line)', borderRadius: '8px', padding: '10px 14px', marginBottom: '14px',
    });
    section.id = 'maintenance-plan';
    section.setAttribute('aria-label', 'Maintenance plan');
    section.hidden = true;
    main.prepend(section);
    const poll = async () => {
      try {
        const res = await fetch('/api/v1/maintenance', { headers: { accept: 'application/json' } });
        if (res.ok) render(section, (await res.json()).plan);
      } catch {
        // The live indicator of the main dashboard already says when drainwatch is unreachable.
      }
      setTimeout(poll, POLL_MS);
    };
    void poll();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
