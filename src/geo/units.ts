// Area units used in Chinese land statistics. Areas are stored in m²; 亩 and 公顷 are for display.

/** 1 亩 = 2000/3 m² exactly (1 公顷 = 15 亩). */
export const M2_PER_MU = 2000 / 3;
export const M2_PER_HA = 10000;

export type AreaUnit = 'm2' | 'mu' | 'ha';

// Multiply then divide by integers, so whole numbers stay exact (1000 m² → 1.5 亩, not 1.4999…).
export function m2ToMu(m2: number): number {
  return (m2 * 3) / 2000;
}

export function muToM2(mu: number): number {
  return (mu * 2000) / 3;
}

export function m2ToHa(m2: number): number {
  return m2 / M2_PER_HA;
}

export function haToM2(ha: number): number {
  return ha * M2_PER_HA;
}

/**
 * x rounded to `digits` decimals, half away from zero, as a decimal string.
 * The value is first reduced to 15 significant digits (as spreadsheets do), so binary noise such
 * as 1.005 → 1.00499999999999989 or 2.4999999999999996 does not flip the last displayed digit.
 */
function roundToString(x: number, digits: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (!Number.isInteger(digits) || digits < 0 || digits > 20)
    throw new RangeError(`digits must be 0…20, got ${digits}`);
  const neg = x < 0;
  // Shortest decimal digits of the 15-significant-digit value: "d.ddd…e±x".
  const [mant = '0', expPart = '0'] = Number(Math.abs(x).toPrecision(15)).toExponential().split('e');
  const sig = mant.replace('.', '');
  const keep = Number(expPart) + 1 + digits; // significant digits left of the rounding point
  let scaled: bigint; // the result × 10^digits
  if (keep < 0) scaled = 0n;
  else if (keep >= sig.length) scaled = BigInt(sig) * 10n ** BigInt(keep - sig.length);
  else {
    scaled = BigInt(sig.slice(0, keep) || '0');
    if (sig.charCodeAt(keep) >= 53 /* '5' */) scaled += 1n;
  }
  let s = scaled.toString();
  if (digits > 0) {
    s = s.padStart(digits + 1, '0');
    s = `${s.slice(0, -digits)}.${s.slice(-digits)}`;
  }
  return neg && scaled !== 0n ? `-${s}` : s;
}

/** x rounded half away from zero to `digits` decimals (see formatArea). */
export function roundHalfAwayFromZero(x: number, digits = 0): number {
  return Number(roundToString(x, digits));
}

/**
 * An area given in m², converted to `unit` and rounded half away from zero to `digits` decimals,
 * as Chinese statistics tables do (0.125 亩 → "0.13", −0.125 → "-0.13").
 */
export function formatArea(m2: number, unit: AreaUnit, digits = 2): string {
  const v = unit === 'mu' ? m2ToMu(m2) : unit === 'ha' ? m2ToHa(m2) : m2;
  return roundToString(v, digits);
}
