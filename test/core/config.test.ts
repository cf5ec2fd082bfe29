/** Configuration validation: every invalid field is refused with an error naming it. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ReplicationLagMonitor, type ReplicationLagConfig } from '../../src/index.ts';

const NUMERIC_FIELDS = [
  'warningThresholdSeconds',
  'criticalThresholdSeconds',
  'retentionWindowSeconds',
  'alertCooldownSeconds',
  'predictionHorizonSeconds',
  'stallTimeoutSeconds',
  'maxAlerts',
  'maxSamplesPerNode',
  'maxNodes',
] as const;

function rejects(config: unknown, kind: typeof RangeError | typeof TypeError, field: string): void {
  assert.throws(
    () => new ReplicationLagMonitor(config as Partial<ReplicationLagConfig>),
    (e: unknown) => {
      assert.ok(e instanceof kind, `expected ${kind.name}, got ${String(e)}`);
      assert.ok(e.message.includes(field), `message ${JSON.stringify(e.message)} does not name ${field}`);
      return true;
    },
  );
}

describe('numeric fields', () => {
  for (const field of NUMERIC_FIELDS) {
    for (const bad of [-1, -0.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      test(`${field} = ${bad} → RangeError naming it`, () => rejects({ [field]: bad }, RangeError, field));
    }
    for (const bad of ['5', null, true, {}, 5n]) {
      test(`${field} = ${typeof bad === 'bigint' ? '5n' : JSON.stringify(bad)} → TypeError naming it`, () => rejects({ [field]: bad }, TypeError, field));
    }
  }

  for (const field of ['retentionWindowSeconds', 'stallTimeoutSeconds', 'maxNodes'] as const) {
    test(`${field} = 0 → RangeError (must be positive)`, () => rejects({ [field]: 0 }, RangeError, field));
  }

  test('0 is accepted where it means something: no cooldown, horizon 0, keep no alerts', () => {
    const m = new ReplicationLagMonitor({ alertCooldownSeconds: 0, predictionHorizonSeconds: 0, maxAlerts: 0 });
    assert.equal(m.config.alertCooldownSeconds, 0);
    assert.equal(m.config.predictionHorizonSeconds, 0);
    assert.equal(m.config.maxAlerts, 0);
  });

  for (const [field, value] of [['maxAlerts', 1.5], ['maxSamplesPerNode', 8.5], ['maxNodes', 2.5]] as const) {
    test(`${field} = ${value} → RangeError (must be an integer)`, () => rejects({ [field]: value }, RangeError, field));
  }

  test('maxSamplesPerNode must be within 8–65536', () => {
    rejects({ maxSamplesPerNode: 7 }, RangeError, 'maxSamplesPerNode');
    rejects({ maxSamplesPerNode: 65537 }, RangeError, 'maxSamplesPerNode');
    assert.equal(new ReplicationLagMonitor({ maxSamplesPerNode: 8 }).config.maxSamplesPerNode, 8);
    assert.equal(new ReplicationLagMonitor({ maxSamplesPerNode: 65536 }).config.maxSamplesPerNode, 65536);
  });

  test('warningThresholdSeconds > criticalThresholdSeconds → RangeError naming both', () => {
    rejects({ warningThresholdSeconds: 31 }, RangeError, 'warningThresholdSeconds');
    rejects({ warningThresholdSeconds: 10, criticalThresholdSeconds: 9 }, RangeError, 'criticalThresholdSeconds');
    const equal = new ReplicationLagMonitor({ warningThresholdSeconds: 9, criticalThresholdSeconds: 9 });
    assert.equal(equal.config.criticalThresholdSeconds, 9);
  });

  test('valid values are taken as given', () => {
    const m = new ReplicationLagMonitor({
      warningThresholdSeconds: 1.5,
      criticalThresholdSeconds: 2.5,
      retentionWindowSeconds: 0.5,
      alertCooldownSeconds: 3,
      predictionHorizonSeconds: 7,
      stallTimeoutSeconds: 0.25,
      maxAlerts: 11,
      maxSamplesPerNode: 13,
      maxNodes: 17,
    });
    assert.equal(m.config.warningThresholdSeconds, 1.5);
    assert.equal(m.config.criticalThresholdSeconds, 2.5);
    assert.equal(m.config.retentionWindowSeconds, 0.5);
    assert.equal(m.config.alertCooldownSeconds, 3);
    assert.equal(m.config.predictionHorizonSeconds, 7);
    assert.equal(m.config.stallTimeoutSeconds, 0.25);
    assert.equal(m.config.maxAlerts, 11);
    assert.equal(m.config.maxSamplesPerNode, 13);
    assert.equal(m.config.maxNodes, 17);
  });
});

describe('other fields', () => {
  for (const field of ['enablePrediction', 'autoRegister'] as const) {
    for (const bad of ['true', 1, 0, null, {}]) {
      test(`${field} = ${JSON.stringify(bad)} → TypeError naming it`, () => rejects({ [field]: bad }, TypeError, field));
    }
  }

  for (const bad of [123, 'Date.now', null, {}]) {
    test(`now = ${JSON.stringify(bad)} → TypeError naming it`, () => rejects({ now: bad }, TypeError, 'now'));
    test(`onListenerError = ${JSON.stringify(bad)} → TypeError naming it`, () => rejects({ onListenerError: bad }, TypeError, 'onListenerError'));
  }

  test('a config that is not an object → TypeError', () => {
    for (const bad of [null, 5, 'config', true]) {
      assert.throws(() => new ReplicationLagMonitor(bad as never), TypeError);
    }
  });

  test('undefined fields take the default', () => {
    const m = new ReplicationLagMonitor({ warningThresholdSeconds: undefined, autoRegister: undefined, now: undefined });
    assert.equal(m.config.warningThresholdSeconds, 5);
    assert.equal(m.config.autoRegister, true);
    assert.equal(typeof m.config.now, 'function');
  });

  test('the resolved config is frozen and detached from the object passed in', () => {
    const input: Partial<ReplicationLagConfig> = { warningThresholdSeconds: 2 };
    const m = new ReplicationLagMonitor(input);
    input.warningThresholdSeconds = 100;
    assert.equal(m.config.warningThresholdSeconds, 2);
    assert.ok(Object.isFrozen(m.config));
  });

  test('the configured thresholds are the ones applied', () => {
    let t = 0;
    const m = new ReplicationLagMonitor({ now: () => t, warningThresholdSeconds: 1, criticalThresholdSeconds: 2, stallTimeoutSeconds: 3 });
    assert.equal(m.updateLag('w', 10, 5, 1).severity, 'warning');
    assert.equal(m.updateLag('c', 10, 5, 2).severity, 'critical');
    t = 3000;
    assert.equal(m.updateLag('w', 10, 5, 1).severity, 'stalled');
  });
});
