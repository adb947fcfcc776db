import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkPasswordRules,
  generateOneTimePassword,
  hashPassword,
  needsRehash,
  verifyPassword,
} from '../../src/auth/passwords.ts';
import { isWeipianError } from '../../src/domain/errors.ts';
import { ROLES, ROLE_LABELS, parseRole } from '../../src/domain/roles.ts';

// RFC 7914 §12, the third scrypt test vector: P="pleaseletmein", S="SodiumChloride", N=16384, r=8, p=1.
const RFC_HASH = [
  'scrypt',
  '16384',
  '8',
  '1',
  Buffer.from('SodiumChloride').toString('base64'),
  Buffer.from(
    '7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2' +
      'd5432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf017b45575887',
    'hex',
  ).toString('base64'),
].join('$');

function rule(fn: () => void): string | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    assert.ok(isWeipianError(e));
    assert.equal(e.code, 'password_weak');
    return (e.details as { rule: string }).rule;
  }
}

describe('passwords', () => {
  it('verifies the RFC 7914 scrypt vector stored in our format', async () => {
    assert.equal(await verifyPassword('pleaseletmein', RFC_HASH), true);
    assert.equal(await verifyPassword('pleaseletmeim', RFC_HASH), false);
    // Weaker than today's N = 2^15: re-hashed at the next login.
    assert.equal(needsRehash(RFC_HASH), true);
  });

  it('hashes with N=2^15, r=8, p=1, a 16-byte salt and a 32-byte key, salted per call', async () => {
    const a = await hashPassword('correct horse 1');
    const b = await hashPassword('correct horse 1');
    const [scheme, n, r, p, salt, key] = a.split('$');
    assert.deepEqual([scheme, n, r, p], ['scrypt', '32768', '8', '1']);
    assert.equal(Buffer.from(salt!, 'base64').length, 16);
    assert.equal(Buffer.from(key!, 'base64').length, 32);
    assert.notEqual(a, b);
    assert.equal(await verifyPassword('correct horse 1', a), true);
    assert.equal(await verifyPassword('correct horse 2', a), false);
    assert.equal(needsRehash(a), false);
  });

  it('refuses unreadable or dangerous stored hashes instead of throwing or allocating', async () => {
    for (const bad of [
      '',
      'plain',
      'scrypt$3$8$1$c2FsdHNhbHQ=$a2V5a2V5a2V5a2V5a2V5',
      'scrypt$1073741824$8$1$x$y',
    ])
      assert.equal(await verifyPassword('x', bad), false, bad);
  });

  it('enforces length 10 and at least two character classes', () => {
    assert.equal(
      rule(() => checkPasswordRules('Ab1-Ab1-A')),
      'min_length',
    ); // 9 characters
    assert.equal(
      rule(() => checkPasswordRules('abcdefghij')),
      'classes',
    ); // 10 lower-case letters
    assert.equal(
      rule(() => checkPasswordRules('1234567890')),
      'classes',
    );
    assert.equal(
      rule(() => checkPasswordRules('密码密码密码密码密码')),
      'classes',
    );
    assert.equal(
      rule(() => checkPasswordRules('a'.repeat(129) + '1')),
      'max_length',
    );
    assert.equal(
      rule(() => checkPasswordRules('zhang-2018', 'ZHANG-2018')),
      'username',
    );
    assert.equal(
      rule(() => checkPasswordRules('abcdefghi1')),
      undefined,
    );
    assert.equal(
      rule(() => checkPasswordRules('周村区卫片执法2018')),
      undefined,
    );
  });

  it('generates one-time passwords that pass the rules and avoid look-alike characters', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const p = generateOneTimePassword();
      assert.match(p, /^[a-km-np-z2-9]{4}(-[a-km-np-z2-9]{4}){3}$/);
      assert.equal(
        rule(() => checkPasswordRules(p)),
        undefined,
      );
      seen.add(p);
    }
    assert.equal(seen.size, 200);
  });
});

describe('roles', () => {
  it('has the five roles with Chinese labels and refuses others', () => {
    assert.deepEqual([...ROLES], ['leader', 'bureau_admin', 'reviewer', 'unit_officer', 'department']);
    assert.equal(ROLE_LABELS.unit_officer, '镇街/开发区工作人员');
    assert.equal(parseRole('reviewer'), 'reviewer');
    assert.throws(
      () => parseRole('admin'),
      (e: unknown) => isWeipianError(e) && e.code === 'role_invalid',
    );
  });
});
