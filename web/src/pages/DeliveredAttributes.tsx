// The attributes of a patch exactly as the Ministry delivered them, each under its Chinese name
// from the field dictionary (GET /api/web/config → fields) with the delivered code as a small grey
// hint, so that 监测面积 reads as such and not as JCMJ. Values are shown as delivered.
import { useMemo } from 'react';
import { Descriptions, Tooltip, Typography } from 'antd';
import { useSession } from '../session.tsx';
import type { FieldInfo } from '../types.ts';

/** As the importer compares names: NFKC, trimmed, no trailing unit in brackets, no spaces, upper case. */
export function normalizeFieldName(name: string): string {
  return name
    .normalize('NFKC')
    .trim()
    .replace(/\s*[([][^()[\]]*[)\]]$/, '')
    .replace(/\s+/g, '')
    .toUpperCase();
}

const HAN = /[\u4e00-\u9fff]/;

/** The dictionary entry a delivered attribute name stands for, if any. */
export function fieldFor(name: string, fields: readonly FieldInfo[]): FieldInfo | undefined {
  const n = normalizeFieldName(name);
  // The names deliveries use for the core fields first, then any dictionary column name (alias).
  return (
    fields.find((f) => f.knownAs.some((k) => normalizeFieldName(k) === n)) ??
    fields.find((f) => normalizeFieldName(f.alias) === n || normalizeFieldName(f.name) === n)
  );
}

export function DeliveredAttributes({ delivered }: { delivered: Record<string, unknown> }) {
  const { config } = useSession();
  const fields = useMemo(() => config.fields ?? [], [config.fields]);
  const entries = Object.entries(delivered);
  if (entries.length === 0)
    return (
      <Typography.Text type="secondary">
        没有下发属性（巡查、举报等自行发现的图斑没有部下发的属性）
      </Typography.Text>
    );
  return (
    <Descriptions size="small" column={2} bordered data-testid="delivered">
      {entries.map(([k, v]) => {
        const f = fieldFor(k, fields);
        // A delivered name already in Chinese is its own label (it may carry a unit, 监测面积（亩）).
        const label = HAN.test(k) ? k : (f?.name ?? k);
        const hint = HAN.test(k) ? null : f ? k : '字段字典中无此字段';
        return (
          <Descriptions.Item
            key={k}
            label={
              <Tooltip title={f?.description}>
                <span data-testid="delivered-label" data-code={k}>
                  {label}
                  {hint && (
                    <span style={{ color: '#aaa', fontSize: 11, marginLeft: 4, fontWeight: 'normal' }}>
                      {hint}
                    </span>
                  )}
                </span>
              </Tooltip>
            }
          >
            {v === null || v === undefined || v === '' ? '—' : String(v)}
          </Descriptions.Item>
        );
      })}
    </Descriptions>
  );
}
