// Who is logged in, their policies (to disable buttons with the reason) and the workspace's
// vocabulary; the current batch is shared by every page and kept in the URL where it matters.
import { createContext, useContext } from 'react';
import type { Batch, Decision, Me, WebConfig } from './types.ts';

export interface Session {
  me: Me;
  config: WebConfig;
  batches: Batch[];
  batch: string;
  setBatch(slug: string): void;
  logout(): Promise<void>;
  refreshMe(): Promise<void>;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('no session');
  return s;
}

/** The policy decision for an action (role level), for disabling a button with its reason. */
export function usePolicy(action: string): Decision {
  const s = useSession();
  return s.me.policies[action] ?? { allow: false, reason: 'unknown', message: '未知操作' };
}

/** Where each role starts its day. */
export function landingOf(role: string): string {
  switch (role) {
    case 'unit_officer':
      return '/work';
    case 'reviewer':
      return '/review';
    case 'bureau_admin':
      return '/admin';
    default:
      return '/overview';
  }
}
