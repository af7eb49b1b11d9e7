// Config reload with a Management Node: a changed section restarts the poller, a removed one forgets its data.

import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfigText } from '../../src/config/load.js';
import { simulatorManagementConfig } from '../../src/sources/management/simulator-settings.js';
import { waitFor } from '../helpers/service.js';
import { PASSWORD, PASSWORD_ENV, USER, nodeJson, nodeNames, startFleet, startServiceAgainst } from '../sources/management/helpers.js';

describe('reloading the management section', () => {
  it('picks up a fixed password on reload and forgets discovered nodes when the section is removed', async () => {
    const sim = await startFleet({ nodes: 2 });
    sim.setLoad('px01', 40);
    const { service, url } = await startServiceAgainst(sim, { discover: true, statics: [], password: 'wrong' });
    await waitFor(() => service.managementStatus()?.lastError?.code === 'DW_MANAGEMENT_AUTH', 15000, 10, 'auth failure');
    expect(await nodeNames(url)).toEqual([]);

    const base = {
      nodes: [],
      http: { listen: '127.0.0.1:0' },
      haproxy: { agent: null },
      log: { level: 'silent' },
      probe: { interval: '150ms', timeout: '120ms', max_age: '3s', rise: 1, fall: 2, jitter: 0 },
      management: simulatorManagementConfig({ url: sim.managementUrl as string, scheme: sim.scheme, interval: '300ms', username: USER, passwordEnv: PASSWORD_ENV }),
    };
    const fixed = loadConfigText(stringify(base), { env: { [PASSWORD_ENV]: PASSWORD } });
    if (!fixed.ok) throw new Error(fixed.errors.join('\n'));
    await service.reload(fixed);
    await waitFor(async () => (await nodeJson(url, 'px01'))?.load === 40, 15000, 25, 'discovered after reload');
    expect(await nodeNames(url)).toEqual(['px01', 'px02']);

    const px02 = sim.node('px02');
    if (!px02) throw new Error('px02 missing');
    const without = loadConfigText(stringify({ ...base, management: undefined, nodes: [{ name: 'px02', address: px02.address, port: px02.port, status_url: px02.statusUrl }] }), { env: {} });
    if (!without.ok) throw new Error(without.errors.join('\n'));
    await service.reload(without);
    expect(service.managementStatus()).toBeNull();
    await waitFor(async () => (await nodeNames(url)).join() === 'px02', 2000, 25, 'only the static node left');
    await waitFor(async () => (await nodeJson(url, 'px02'))?.load === null, 2000, 25, 'management data forgotten');
  });
});
