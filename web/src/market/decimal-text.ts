/** Exact subtraction of two non-negative decimal texts (`"100.5" - "100.25"` = `"0.25"`), for display. */
export function subtractText(a: string, b: string): string | undefined {
  const re = /^\d+(\.\d+)?$/;
  if (!re.test(a) || !re.test(b)) return undefined;
  const [ai = '', af = ''] = a.split('.');
  const [bi = '', bf = ''] = b.split('.');
  const scale = Math.max(af.length, bf.length);
  const x = BigInt(ai + af.padEnd(scale, '0')) - BigInt(bi + bf.padEnd(scale, '0'));
  const neg = x < 0n;
  const digits = (neg ? -x : x).toString().padStart(scale + 1, '0');
  const int = digits.slice(0, digits.length - scale);
  const frac = digits.slice(digits.length - scale).replace(/0+$/, '');
  return `${neg ? '-' : ''}${int}${frac === '' ? '' : `.${frac}`}`;
}
