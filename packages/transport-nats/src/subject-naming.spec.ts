import { describe, expect, it } from 'vitest';

import { durableName, isLiteralSubject, isStreamName, subjectForType } from './subject-naming.js';

describe('subjects of event types', () => {
  it('puts the type after the prefix, its dots becoming subject levels', () => {
    expect(subjectForType('cloudbus', 'com.mariopizzeria.order.placed')).toBe('cloudbus.com.mariopizzeria.order.placed');
    expect(subjectForType('acme.events', 'order-placed_v2')).toBe('acme.events.order-placed_v2');
  });

  it('escapes wildcards, spaces, percent and non-ASCII, and marks empty levels', () => {
    expect(subjectForType('p', 'a.*.>')).toBe('p.a.%2A.%3E');
    expect(subjectForType('p', 'order placed')).toBe('p.order%20placed');
    expect(subjectForType('p', 'größe')).toBe('p.gr%C3%B6%C3%9Fe');
    expect(subjectForType('p', 'a..b.')).toBe('p.a.%.b.%');
    expect(subjectForType('p', '50%')).toBe('p.50%25');
  });

  it('never maps two types to one subject', () => {
    const types = ['a.b', 'a%2Eb', 'a.%', 'a.', 'a..', 'a.%25', 'a b', 'a%20b', 'a*', 'a.*'];
    const subjects = types.map((type) => subjectForType('p', type));
    expect(new Set(subjects).size).toBe(types.length);
    for (const subject of subjects) expect(isLiteralSubject(subject)).toBe(true);
  });
});

describe('durable consumer names', () => {
  it('writes the dot of <service>.<handler> as a double underscore', () => {
    expect(durableName('pizzeria.KitchenHandler')).toBe('pizzeria__KitchenHandler');
    expect(durableName('plain-name')).toBe('plain-name');
  });

  it('escapes underscores and other characters so that names stay distinct', () => {
    expect(durableName('svc.my_handler')).toBe('svc__my_5Fhandler');
    expect(durableName('svc.a b')).toBe('svc__a_20b');
    expect(durableName('a__b')).not.toBe(durableName('a.b'));
    expect(durableName('svc.größe')).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it('shortens very long names with a hash, keeping them distinct', () => {
    const a = durableName(`svc.${'x'.repeat(300)}a`);
    const b = durableName(`svc.${'x'.repeat(300)}b`);
    expect(a.length).toBeLessThanOrEqual(200);
    expect(a).not.toBe(b);
  });
});

describe('name checks', () => {
  it('accepts literal subjects only', () => {
    expect(isLiteralSubject('cloudbus')).toBe(true);
    expect(isLiteralSubject('a.b')).toBe(true);
    for (const bad of ['', 'a.', '.a', 'a..b', 'a.*', 'a.>', 'a b']) expect(isLiteralSubject(bad)).toBe(false);
  });

  it('accepts stream names of letters, digits, - and _', () => {
    expect(isStreamName('CLOUDBUS_DLQ-1')).toBe(true);
    for (const bad of ['', 'a.b', 'a b', 'a/b', 'a*']) expect(isStreamName(bad)).toBe(false);
  });
});
