// Calls to the weipian API: JSON in and out, the session cookie, the CSRF header on writes, and
// every error turned into an ApiError carrying the server's Chinese message and stable code.
export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
    public details?: unknown,
  ) {
    super(message);
  }
}

let csrfToken: string | null = null;
export function setCsrf(token: string | null): void {
  csrfToken = token;
}

/** Called on 401 from any request (the session ended): the app shows the login page. */
let onUnauthenticated: (() => void) | null = null;
export function setUnauthenticatedHandler(fn: () => void): void {
  onUnauthenticated = fn;
}

export async function api<T>(
  method: string,
  url: string,
  body?: unknown,
  opts: { raw?: Blob | File; headers?: Record<string, string> } = {},
): Promise<T> {
  const headers: Record<string, string> = { ...opts.headers };
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  let payload: BodyInit | undefined;
  if (opts.raw) {
    payload = opts.raw;
    headers['content-type'] = 'application/octet-stream';
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers['content-type'] = 'application/json';
  }
  let res: Response;
  try {
    res = await fetch(url, { method, headers, body: payload, credentials: 'same-origin' });
  } catch {
    throw new ApiError(0, 'network', '无法连接服务器，请检查网络后重试');
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!res.ok) {
    const e = (json as { error?: { code?: string; message?: string; details?: unknown } } | null)?.error;
    if (res.status === 401 && url !== '/api/auth/login' && url !== '/api/auth/me') onUnauthenticated?.();
    throw new ApiError(
      res.status,
      e?.code ?? 'http_error',
      e?.message ?? `请求失败（${res.status}）`,
      e?.details,
    );
  }
  return json as T;
}

export const get = <T>(url: string) => api<T>('GET', url);
export const post = <T>(url: string, body?: unknown) => api<T>('POST', url, body ?? {});
export const put = <T>(url: string, body?: unknown) => api<T>('PUT', url, body ?? {});
export const patch = <T>(url: string, body?: unknown) => api<T>('PATCH', url, body ?? {});

export const qs = (o: Record<string, string | number | boolean | undefined | null>) => {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(o)) if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
};

export const MU_PER_M2 = 3 / 2000;
export const fmtMu = (m2: number | null | undefined) =>
  m2 === null || m2 === undefined ? '—' : `${(m2 * MU_PER_M2).toFixed(2)} 亩`;
export const fmtM2 = (m2: number | null | undefined) =>
  m2 === null || m2 === undefined
    ? '—'
    : `${m2.toLocaleString('zh-CN', { maximumFractionDigits: 2 })} 平方米`;
export const fmtTime = (iso: string | null | undefined) => {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai', hour12: false });
};
