// Small shared pieces: coloured tags whose hover text explains the word (status words are the
// most misread thing in such systems), due-date cells, buttons that say why they are disabled, and
// the server's message above a form that failed.
import type { ReactNode } from 'react';
import { Alert, Button, Tag, Tooltip, type ButtonProps } from 'antd';
import { useSession } from './session.tsx';
import type { Decision } from './types.ts';

export const STATE_COLORS: Record<string, string> = {
  issued: '#8c8c8c',
  verifying: '#1677ff',
  submitted: '#fa8c16',
  returned: '#f5222d',
  passed: '#52c41a',
  reported: '#13c2c2',
  upper_returned: '#a8071a',
  upper_passed: '#237804',
};
export const VERDICT_COLORS: Record<string, string> = {
  undetermined: '#bfbfbf',
  legal: '#52c41a',
  other: '#1677ff',
  illegal: '#f5222d',
  mixed: '#722ed1',
};
export const PREJUDGEMENT_COLORS: Record<string, string> = {
  likely_legal: '#52c41a',
  likely_other: '#1677ff',
  likely_illegal: '#f5222d',
  needs_check: '#faad14',
  none: '#bfbfbf',
};
export const RECEIPT_COLORS: Record<string, string> = {
  none: 'default',
  submitted: 'orange',
  returned: 'red',
  passed: 'green',
};

export function useLabels() {
  const { config } = useSession();
  const find = (list: { id: string; label: string }[], id: string | null | undefined) =>
    list.find((x) => x.id === id)?.label ?? id ?? '—';
  return {
    state: (id: string) => config.states.find((s) => s.id === id),
    verdict: (id: string) => find(config.verdicts, id),
    prejudgement: (id: string | null) => (id ? find(config.prejudgements, id) : '未分析'),
    source: (id: string) => find(config.sources, id),
  };
}

export function StateTag({ state }: { state: string }) {
  const l = useLabels();
  const info = l.state(state);
  return (
    <Tooltip title={info?.explanation}>
      <Tag color={STATE_COLORS[state]} data-state={state}>
        {info?.label ?? state}
      </Tag>
    </Tooltip>
  );
}

export function VerdictTag({ verdict }: { verdict: string }) {
  const l = useLabels();
  return <Tag color={VERDICT_COLORS[verdict]}>{l.verdict(verdict)}</Tag>;
}

export function PrejudgementTag({ value }: { value: string | null }) {
  const l = useLabels();
  return <Tag color={PREJUDGEMENT_COLORS[value ?? 'none']}>{l.prejudgement(value)}</Tag>;
}

export function ReceiptTag({ receipt }: { receipt: string }) {
  const { config } = useSession();
  const r = config.receipts[receipt];
  return (
    <Tooltip title={r?.explanation}>
      <Tag color={RECEIPT_COLORS[receipt]} data-receipt={receipt}>
        {r?.label ?? receipt}
      </Tag>
    </Tooltip>
  );
}

export function DueCell({
  date,
  status,
  days,
}: {
  date: string | null;
  status: string | null;
  days: number;
}) {
  if (!date) return <span style={{ color: '#999' }}>—</span>;
  if (status === 'overdue')
    return (
      <Tooltip title={`${date} 24 时（北京时间）前到期，已逾期 ${days} 天`}>
        <Tag color="red" data-overdue="1">
          {date} 逾期 {days} 天
        </Tag>
      </Tooltip>
    );
  if (status === 'due_soon')
    return (
      <Tooltip title={`${date} 24 时（北京时间）前到期`}>
        <Tag color="gold">{date} 临近</Tag>
      </Tooltip>
    );
  return <span>{date}</span>;
}

/** A button disabled, with the reason on hover, when the decision denies it. */
export function ActionButton({
  decision,
  children,
  ...props
}: ButtonProps & { decision: Decision | { allow: boolean; message?: string }; children: ReactNode }) {
  const denied = !decision.allow;
  const btn = (
    <Button {...props} disabled={props.disabled || denied}>
      {children}
    </Button>
  );
  if (!denied) return btn;
  const reason = 'message' in decision ? decision.message : undefined;
  return (
    <Tooltip title={reason}>
      <span data-denied={reason} style={{ display: 'inline-block' }}>
        {btn}
      </span>
    </Tooltip>
  );
}

/** The reason under a disabled action, visible without hovering. */
export function DeniedNote({ decision }: { decision: { allow: boolean; message?: string } }) {
  if (decision.allow || !decision.message) return null;
  return <div style={{ color: '#8c8c8c', fontSize: 12, marginTop: 4 }}>{decision.message}</div>;
}

/** The server's (Chinese) message when a form's request failed; nothing otherwise. */
export function ErrorAlert({
  error,
  testId,
  gap = 12,
}: {
  error: string | null;
  testId: string;
  gap?: number;
}) {
  if (!error) return null;
  return <Alert type="error" showIcon message={error} style={{ marginBottom: gap }} data-testid={testId} />;
}
