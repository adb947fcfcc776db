// The reviewers' list of a batch's integrity signals (举证疑点), open ones first, so that none is
// missed: the photo, the patch, what was found in plain words, and confirm / dismiss with a reason.
import { useCallback, useEffect, useState } from 'react';
import { Link } from 'react-router-dom';
import { Alert, Empty, Image, Segmented, Space, Table, Typography } from 'antd';
import type { ColumnsType } from 'antd/es/table';
import { ApiError, fmtTime, get, qs } from '../api.ts';
import { usePolicy } from '../session.tsx';
import { SignalDecisionModal, SignalView, type Signal } from './SignalDecision.tsx';

/** How many signals of the batch still wait for a reviewer (for the tab's label). */
export function useOpenSignalCount(batch: string, refresh: number): number | null {
  const [n, setN] = useState<number | null>(null);
  useEffect(() => {
    if (!batch) return;
    get<{ signals: Signal[] }>(`/api/evidence-signals${qs({ batch, status: 'open', limit: 5000 })}`)
      .then((r) => setN(r.signals.length))
      .catch(() => setN(null));
  }, [batch, refresh]);
  return n;
}

export function SignalQueue({ batch, onChanged }: { batch: string; onChanged?: () => void }) {
  const review = usePolicy('evidence.review');
  const [status, setStatus] = useState<string>('open');
  const [rows, setRows] = useState<Signal[]>([]);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [deciding, setDeciding] = useState<{ signal: Signal; mode: 'confirm' | 'dismiss' } | null>(null);

  const load = useCallback(async () => {
    if (!batch) return;
    setLoading(true);
    setError(null);
    try {
      const r = await get<{ signals: Signal[] }>(
        `/api/evidence-signals${qs({ batch, status: status === 'all' ? undefined : status, limit: 5000 })}`,
      );
      setRows(r.signals);
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
    } finally {
      setLoading(false);
    }
  }, [batch, status]);
  useEffect(() => {
    void load();
  }, [load]);

  const columns: ColumnsType<Signal> = [
    {
      title: '照片',
      dataIndex: 'evidence_id',
      width: 90,
      render: (id: number) => (
        <Image
          src={`/api/evidence/${id}/thumbnail`}
          preview={{ src: `/api/evidence/${id}/file` }}
          width={72}
          height={54}
          style={{ objectFit: 'cover' }}
          alt={`举证材料 #${id}`}
          fallback="data:image/gif;base64,R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw=="
        />
      ),
    },
    {
      title: '监测编号',
      dataIndex: 'jcbh',
      sorter: (a, b) => (a.jcbh ?? '').localeCompare(b.jcbh ?? ''),
      render: (v: string, r) => (
        <Link to={`/patches/${r.patch_id}`} data-testid={`signal-patch-${v}`}>
          {v}
        </Link>
      ),
    },
    {
      title: '疑点与处理',
      key: 'signal',
      render: (_: unknown, r) => (
        <SignalView signal={r} decision={review} onDecide={(signal, mode) => setDeciding({ signal, mode })} />
      ),
    },
    {
      title: '发现时间',
      dataIndex: 'created_at',
      width: 170,
      sorter: (a, b) => (a.created_at ?? '').localeCompare(b.created_at ?? ''),
      render: (v: string) => fmtTime(v),
    },
  ];

  return (
    <div data-testid="signal-queue">
      <Alert
        type="info"
        showIcon
        style={{ marginBottom: 12 }}
        message="举证疑点是系统在照片上传时自动发现的问题（如拍摄点距图斑过远、没有拍摄位置、同一照片用于多个图斑）。请逐条核实：属实的认定为核查发现（虚假举证、照片复用等），不属实的写明理由后排除。"
      />
      {error && <Alert type="error" showIcon message={error} style={{ marginBottom: 12 }} />}
      <Space style={{ marginBottom: 12 }}>
        <Segmented
          value={status}
          onChange={(v) => setStatus(String(v))}
          options={[
            { value: 'open', label: '待处理' },
            { value: 'confirmed', label: '已认定' },
            { value: 'dismissed', label: '已排除' },
            { value: 'all', label: '全部' },
          ]}
          data-testid="signal-status"
        />
        <Typography.Text type="secondary">共 {rows.length} 条</Typography.Text>
      </Space>
      <Table<Signal>
        rowKey="id"
        size="small"
        loading={loading}
        dataSource={rows}
        columns={columns}
        pagination={{ defaultPageSize: 50, showTotal: (t) => `共 ${t} 条疑点` }}
        locale={{
          emptyText: (
            <Empty
              description={
                status === 'open'
                  ? '本批次没有待处理的举证疑点：新上传的照片如有疑点会出现在这里'
                  : '没有符合条件的疑点'
              }
            />
          ),
        }}
      />
      <SignalDecisionModal
        target={deciding}
        onClose={() => setDeciding(null)}
        onDone={async () => {
          setDeciding(null);
          await load();
          onChanged?.();
        }}
      />
    </div>
  );
}
