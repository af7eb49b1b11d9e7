// deploy/prometheus: the alert rules are valid and every alert is covered by a passing `promtool test rules` case.

import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it, onTestFinished } from 'vitest';
import { requires, toolPath } from '../helpers/requires.js';

const DIR = fileURLToPath(new URL('../../deploy/prometheus/', import.meta.url));
const RULES = 'drainwatch-alerts.yaml';
const TESTS = 'drainwatch-alerts.test.yaml';
const SUITE = 'Prometheus alert rules (promtool)';

type RuleFile = { groups: Array<{ rules: Array<{ alert?: string; expr: string }> }> };
type TestFile = { tests: Array<{ alert_rule_test: Array<{ alertname: string; exp_alerts: unknown[] }> }> };

function promtool(args: string[], cwd = DIR): { status: number | null; output: string } {
  const result = spawnSync(toolPath('promtool') ?? 'promtool', args, { cwd, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('the alert rules file', () => {
  const rules = parse(readFileSync(join(DIR, RULES), 'utf8')) as RuleFile;
  const tests = parse(readFileSync(join(DIR, TESTS), 'utf8')) as TestFile;
  const alerts = rules.groups.flatMap((group) => group.rules.map((rule) => rule.alert));

  it('alerts on drainwatch down, divergence, the guard, the Management Node, NGINX fail-open and long drains', () => {
    expect(alerts).toEqual([
      'DrainwatchDown',
      'DrainwatchLoadBalancerDiverged',
      'DrainwatchGuardActive',
      'DrainwatchManagementNodeFailing',
      'DrainwatchNginxFailOpen',
      'DrainwatchNodeDrainingTooLong',
    ]);
  });

  it('has, for every alert, a test case where it is quiet and one where it fires', () => {
    const cases = tests.tests.flatMap((test) => test.alert_rule_test);
    for (const alert of alerts) {
      const mine = cases.filter((item) => item.alertname === alert);
      expect(mine.some((item) => item.exp_alerts.length === 0), `${alert} quiet`).toBe(true);
      expect(mine.some((item) => item.exp_alerts.length > 0), `${alert} firing`).toBe(true);
    }
  });
});

describe.runIf(requires(SUITE, ['promtool']))(SUITE, () => {
  it('passes promtool check rules', () => {
    const result = promtool(['check', 'rules', RULES]);
    expect(result.output).toContain('SUCCESS: 6 rules found');
    expect(result.status).toBe(0);
  });

  it('passes promtool test rules', () => {
    const result = promtool(['test', 'rules', TESTS]);
    expect(result.output).toContain('SUCCESS');
    expect(result.status).toBe(0);
  });

  it('fails promtool test rules when an alert waits longer than its test expects', () => {
    const dir = mkdtempSync(join(tmpdir(), 'drainwatch-rules-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const text = readFileSync(join(DIR, RULES), 'utf8');
    const slower = text.replace('expr: up{job="drainwatch"} == 0\n        for: 1m', 'expr: up{job="drainwatch"} == 0\n        for: 10m');
    expect(slower).not.toBe(text);
    writeFileSync(join(dir, RULES), slower);
    copyFileSync(join(DIR, TESTS), join(dir, TESTS));
    const result = promtool(['test', 'rules', TESTS], dir);
    expect(result.status).not.toBe(0);
    expect(result.output).toContain('DrainwatchDown');
  });
});
