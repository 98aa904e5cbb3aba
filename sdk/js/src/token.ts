/** Access tokens: when one expires, and when to fetch the next. */

/** The `exp` of a JWT, in epoch ms (undefined if it cannot be read). No signature check. */
export function tokenExpiry(token: string): number | undefined {
  const payload = token.split(".")[1];
  if (payload === undefined) return undefined;
  try {
    const json = decodeBase64Url(payload);
    const exp = (JSON.parse(json) as { exp?: unknown }).exp;
    return typeof exp === "number" ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * When to refresh a token that expires at `expiresAt`: `margin` ms before, or, for a token with
 * less life than twice the margin, halfway through what is left.
 */
export function refreshDelay(expiresAt: number, now: number, margin: number): number {
  const left = expiresAt - now;
  if (left <= 0) return 0;
  return left > 2 * margin ? left - margin : left / 2;
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** base64url → UTF-8 text without atob, Buffer or TextDecoder (React Native lacks some). */
function decodeBase64Url(text: string): string {
  const bytes: number[] = [];
  let bits = 0;
  let value = 0;
  for (const char of text.replace(/=+$/, "")) {
    const digit = ALPHABET.indexOf(char);
    if (digit < 0) throw new Error("not base64url");
    value = (value << 6) | digit;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((value >> bits) & 0xff);
    }
  }
  return decodeURIComponent(bytes.map((byte) => "%" + byte.toString(16).padStart(2, "0")).join(""));
}
