// Dashboard banner shown while any load-balancer target is diverged: which target, since when, and why.
// Self-contained: it adds its own element above the node table and polls GET /api/v1/loadbalancers (read-only).
// @ts-check
'use strict';

(() => {
  const POLL_MS = 5000;

  /**
   * @param {HTMLElement} banner
   * @param {{ id: string, status: string, since: string, reason: string }[]} targets
   */
  function render(banner, targets) {
    const diverged = targets.filter((target) => target.status === 'diverged');
    banner.hidden = diverged.length === 0;
    banner.replaceChildren();
    if (diverged.length === 0) return;
    const head = document.createElement('div');
    head.textContent = `${diverged.length} load balancer target(s) diverged: what they hold differs from the verdicts.`;
    banner.append(head);
    for (const target of diverged) {
      const line = document.createElement('div');
      const since = Math.max(0, Math.round((Date.now() - Date.parse(target.since)) / 1000));
      line.textContent = `${target.id} (for ${since}s): ${target.reason || 'no reason given'}`;
      line.className = 'sub';
      banner.append(line);
    }
  }

  /** @param {HTMLElement} banner */
  async function poll(banner) {
    try {
      const response = await fetch('/api/v1/loadbalancers', { cache: 'no-store' });
      if (response.ok) render(banner, (await response.json()).loadbalancers || []);
    } catch {
      // The main stream's indicator already says when drainwatch is unreachable.
    }
  }

  function start() {
    const banner = document.createElement('div');
    banner.id = 'lb-banner';
    banner.className = 'guard';
    banner.setAttribute('role', 'alert');
    banner.hidden = true;
    const guard = document.getElementById('guard');
    if (guard && guard.parentNode) guard.parentNode.insertBefore(banner, guard.nextSibling);
    else document.body.prepend(banner);
    void poll(banner);
    setInterval(() => void poll(banner), POLL_MS);
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
