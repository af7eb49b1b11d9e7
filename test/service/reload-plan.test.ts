// The reload plan as a table: which config changes replace the prober, move the Management poller or warn about the listener.

import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfigText } from '../../src/config/load.js';
import { planReload, sameValue } from '../../src/service/reload-plan.js';
import type { ReloadSide } from '../../src/service/reload-plan.js';

const BASE = {
  nodes: [{ name: 'px01', address: '10.0.0.1' }],
  probe: { interval: '1s', timeout: '800ms' },
  http: { listen: '127.0.0.1:9555' },
};
const MANAGEMENT = { url: 'https://manager.example.com', username: 'admin', password_env: 'PW', interval: '15s' };

function side(patch: Record<string, unknown>, env: Record<string, string> = { PW: 'secret' }): ReloadSide {
  const loaded = loadConfigText(stringify({ ...BASE, ...patch }), { env }, 'table');
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  return { config: loaded.config, secrets: loaded.secrets };
}

const ALWAYS = ['update-rules', 'apply-inventory'];

type Row = { name: string; before: ReloadSide; after: ReloadSide; kinds: string[] };

const rows: Row[] = [
  { name: 'an identical config only re-applies rules, inventory and front-ends', before: side({}), after: side({}), kinds: [...ALWAYS, 'reload-frontends'] },
  { name: 'a new probe timeout replaces the prober', before: side({}), after: side({ probe: { interval: '1s', timeout: '500ms' } }), kinds: ['replace-prober', ...ALWAYS, 'reload-frontends'] },
  { name: 'the same probe section written in another key order keeps the prober', before: side({}), after: side({ probe: { timeout: '800ms', interval: '1s' } }), kinds: [...ALWAYS, 'reload-frontends'] },
  { name: 'a changed node list alone keeps the prober', before: side({}), after: side({ nodes: [{ name: 'px02', address: '10.0.0.2' }] }), kinds: [...ALWAYS, 'reload-frontends'] },
  { name: 'a moved HTTP listener is only warned about', before: side({}), after: side({ http: { listen: '127.0.0.1:9556' } }), kinds: ['warn-http-listen', ...ALWAYS, 'reload-frontends'] },
  { name: 'an added management section starts the poller', before: side({}), after: side({ management: MANAGEMENT }), kinds: [...ALWAYS, 'start-management', 'reload-frontends'] },
  { name: 'a removed management section stops it', before: side({ management: MANAGEMENT }), after: side({}), kinds: [...ALWAYS, 'stop-management', 'reload-frontends'] },
  { name: 'an unchanged management section keeps the poller running', before: side({ management: MANAGEMENT }), after: side({ management: MANAGEMENT }), kinds: [...ALWAYS, 'reload-frontends'] },
  { name: 'a new management interval restarts the poller', before: side({ management: MANAGEMENT }), after: side({ management: { ...MANAGEMENT, interval: '30s' } }), kinds: [...ALWAYS, 'restart-management', 'reload-frontends'] },
  { name: 'a new password behind the same variable restarts the poller', before: side({ management: MANAGEMENT }), after: side({ management: MANAGEMENT }, { PW: 'rotated' }), kinds: [...ALWAYS, 'restart-management', 'reload-frontends'] },
  {
    name: 'new TLS trust restarts both the prober and the poller (they share it)',
    before: side({ management: MANAGEMENT }),
    after: side({ management: MANAGEMENT, probe: { interval: '1s', timeout: '800ms', tls: { insecure_skip_verify: true } } }),
    kinds: ['replace-prober', ...ALWAYS, 'restart-management', 'reload-frontends'],
  },
];

describe('planReload', () => {
  it.each(rows)('$name', ({ before, after, kinds }) => {
    expect(planReload(before, after).map((action) => action.kind)).toEqual(kinds);
  });

  it('says where the HTTP listener was and where the config now puts it', () => {
    const warning = planReload(side({}), side({ http: { listen: '127.0.0.1:9556' } }))[0];
    expect(warning).toEqual({ kind: 'warn-http-listen', from: '127.0.0.1:9555', to: '127.0.0.1:9556' });
  });
});

describe('sameValue', () => {
  it.each([
    ['objects with the same keys in another order', { a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1 }, true],
    ['arrays in another order', [1, 2], [2, 1], false],
    ['a missing key and an undefined one', { a: 1 }, { a: 1, b: undefined }, true],
    ['null and an empty object', null, {}, false],
    ['an array and an object with index keys', [1], { 0: 1 }, false],
    ['NaN and NaN', Number.NaN, Number.NaN, true],
  ])('compares %s', (_name, a, b, same) => {
    expect(sameValue(a, b)).toBe(same);
  });
});
