// Administration (分局管理员): users and units, batches and milestones, reference-layer imports
// and analysis runs with progress, and the rule pack in force.
import { useCallback, useEffect, useState } from 'react';
import {
  Alert,
  App as AntApp,
  Button,
  Card,
  Descriptions,
  Form,
  Input,
  Modal,
  Progress,
  Select,
  Space,
  Table,
  Tabs,
  Tag,
  Typography,
  Upload,
} from 'antd';
import { UploadOutlined } from '@ant-design/icons';
import { ApiError, fmtTime, get, patch, post } from '../api.ts';
import { usePolicy, useSession } from '../session.tsx';
import type { Batch, Unit, User } from '../types.ts';
import { ActionButton } from '../ui.tsx';

export default function AdminPage() {
  return (
    <Card title="系统管理">
      <Tabs
        items={[
          { key: 'users', label: '用户与单位', children: <Users /> },
          { key: 'batches', label: '批次与时间节点', children: <Batches /> },
          { key: 'layers', label: '图层导入与叠加分析', children: <Layers /> },
          { key: 'rules', label: '现行规则包', children: <Rules /> },
        ]}
      />
    </Card>
  );
}

function errText(e: unknown) {
  return e instanceof ApiError ? e.message : String(e);
}

function Users() {
  const s = useSession();
  const decision = usePolicy('user.admin');
  const { message, modal } = AntApp.useApp();
  const [users, setUsers] = useState<User[]>([]);
  const [units, setUnits] = useState<Unit[]>([]);
  const [departments, setDepartments] = useState<{ code: string; name: string }[]>([]);
  const [adding, setAdding] = useState(false);
  const [form] = Form.useForm();
  const role = Form.useWatch('role', form) as string | undefined;
  const load = useCallback(async () => {
    const [u, un] = await Promise.all([
      get<{ users: User[]; departments: { code: string; name: string }[] }>('/api/users'),
      get<{ units: Unit[] }>('/api/units'),
    ]);
    setUsers(u.users);
    setDepartments(u.departments);
    setUnits(un.units);
  }, []);
  useEffect(() => {
    void load().catch((e) => message.error(errText(e)));
  }, [load, message]);
  const showPassword = (username: string, pw: string) =>
    modal.info({
      title: `${username} 的一次性密码`,
      content: (
        <Typography.Text copyable code>
          {pw}
        </Typography.Text>
      ),
      okText: '已记下',
    });
  const action = async (u: User, what: 'disable' | 'enable' | 'reset-password') => {
    try {
      const r = await post<{ oneTimePassword?: string }>(`/api/users/${u.id}/${what}`, {
        version: u.version,
      });
      if (r.oneTimePassword) showPassword(u.username, r.oneTimePassword);
      else message.success('已完成');
      await load();
    } catch (e) {
      message.error(errText(e));
    }
  };
  return (
    <>
      <Space style={{ marginBottom: 12 }}>
        <ActionButton type="primary" decision={decision} onClick={() => setAdding(true)}>
          新增用户
        </ActionButton>
      </Space>
      <Table<User>
        size="small"
        rowKey="id"
        dataSource={users}
        pagination={false}
        columns={[
          { title: '用户名', dataIndex: 'username' },
          { title: '姓名', dataIndex: 'displayName' },
          { title: '角色', dataIndex: 'roleLabel' },
          { title: '单位/部门', key: 'b', render: (_, u) => u.unit?.name ?? u.department?.name ?? '—' },
          {
            title: '状态',
            key: 's',
            render: (_, u) =>
              u.disabled ? (
                <Tag>已停用</Tag>
              ) : u.mustChangePassword ? (
                <Tag color="orange">待改密码</Tag>
              ) : (
                <Tag color="green">正常</Tag>
              ),
          },
          { title: '上次登录', dataIndex: 'lastLoginAt', render: (v) => fmtTime(v) },
          {
            title: '操作',
            key: 'a',
            render: (_, u) => (
              <Space>
                {u.disabled ? (
                  <Button size="small" onClick={() => void action(u, 'enable')}>
                    启用
                  </Button>
                ) : (
                  <Button size="small" onClick={() => void action(u, 'disable')}>
                    停用
                  </Button>
                )}
                <Button size="small" onClick={() => void action(u, 'reset-password')}>
                  重置密码
                </Button>
              </Space>
            ),
          },
        ]}
      />
      <Typography.Title level={5} style={{ marginTop: 16 }}>
        责任单位
      </Typography.Title>
      <Space wrap>
        {units.map((u) => (
          <Tag key={u.code}>
            {u.code} {u.name}
          </Tag>
        ))}
      </Space>
      <Modal
        open={adding}
        title="新增用户"
        okText="创建"
        cancelText="取消"
        destroyOnHidden
        onCancel={() => setAdding(false)}
        onOk={async () => {
          const v = await form.validateFields();
          try {
            const r = await post<{ user: User; oneTimePassword: string }>('/api/users', v);
            setAdding(false);
            form.resetFields();
            showPassword(r.user.username, r.oneTimePassword);
            await load();
          } catch (e) {
            message.error(errText(e));
          }
        }}
      >
        <Form form={form} layout="vertical">
          <Form.Item name="username" label="用户名" rules={[{ required: true, message: '请填写用户名' }]}>
            <Input />
          </Form.Item>
          <Form.Item name="displayName" label="姓名">
            <Input />
          </Form.Item>
          <Form.Item name="role" label="角色" rules={[{ required: true, message: '请选择角色' }]}>
            <Select options={s.config.roles.map((r) => ({ value: r.id, label: r.label }))} />
          </Form.Item>
          {role === 'unit_officer' && (
            <Form.Item
              name="unitCode"
              label="责任单位"
              rules={[{ required: true, message: '请选择责任单位' }]}
            >
              <Select options={units.map((u) => ({ value: u.code, label: `${u.code} ${u.name}` }))} />
            </Form.Item>
          )}
          {role === 'department' && (
            <Form.Item name="departmentCode" label="部门" rules={[{ required: true, message: '请选择部门' }]}>
              <Select options={departments.map((d) => ({ value: d.code, label: d.name }))} />
            </Form.Item>
          )}
        </Form>
      </Modal>
    </>
  );
}

function Batches() {
  const s = useSession();
  const { message } = AntApp.useApp();
  const [batch, setBatch] = useState<Batch | null>(null);
  const [editing, setEditing] = useState<
    { id: string; label: string; date: string; description?: string }[] | null
  >(null);
  const [reason, setReason] = useState('');
  const load = useCallback(async () => {
    if (!s.batch) return;
    setBatch((await get<{ batch: Batch }>(`/api/batches/${s.batch}`)).batch);
  }, [s.batch]);
  useEffect(() => {
    void load().catch((e) => message.error(errText(e)));
  }, [load, message]);
  return (
    <>
      <Table<Batch>
        size="small"
        rowKey="slug"
        pagination={false}
        dataSource={s.batches}
        columns={[
          { title: '标识', dataIndex: 'slug' },
          { title: '名称', dataIndex: 'name' },
          { title: '类型', dataIndex: 'kind', render: (v) => (v === 'land' ? '土地' : '矿产') },
          { title: '年度', dataIndex: 'year' },
          { title: '图斑', dataIndex: 'patch_count' },
          {
            title: '规则包',
            key: 'r',
            render: (_, b) => `${b.rule_pack_id ?? ''} ${b.rule_pack_version ?? ''}`,
          },
        ]}
      />
      {batch && (
        <Card
          size="small"
          title={`${batch.name} 的时间节点`}
          style={{ marginTop: 12 }}
          extra={<Button onClick={() => setEditing(batch.milestones ?? [])}>修改</Button>}
        >
          <Table
            size="small"
            rowKey="id"
            pagination={false}
            dataSource={batch.milestones ?? []}
            columns={[
              { title: '节点', dataIndex: 'label' },
              { title: '日期（当日 24 时前）', dataIndex: 'date' },
              { title: '说明', dataIndex: 'description' },
            ]}
          />
        </Card>
      )}
      <Modal
        open={editing !== null}
        title="修改时间节点"
        okText="保存"
        cancelText="取消"
        width={640}
        onCancel={() => setEditing(null)}
        onOk={async () => {
          try {
            await patch(`/api/batches/${batch!.slug}`, {
              version: batch!.version,
              milestones: editing,
              reason: reason || undefined,
            });
            message.success('已保存（记入审计链）');
            setEditing(null);
            await load();
          } catch (e) {
            message.error(errText(e));
          }
        }}
      >
        {(editing ?? []).map((m, i) => (
          <Space key={m.id} style={{ display: 'flex', marginBottom: 8 }}>
            <span style={{ width: 220, display: 'inline-block' }}>{m.label}</span>
            <Input
              type="date"
              value={m.date}
              onChange={(e) =>
                setEditing(editing!.map((x, j) => (j === i ? { ...x, date: e.target.value } : x)))
              }
            />
          </Space>
        ))}
        <Input.TextArea placeholder="修改原因" value={reason} onChange={(e) => setReason(e.target.value)} />
      </Modal>
    </>
  );
}

interface LayerRow {
  id: number;
  type: string;
  typeLabel: string;
  version: number;
  name: string;
  feature_count: number;
  imported_at: string;
  imported_by: string;
}

function Layers() {
  const s = useSession();
  const { message } = AntApp.useApp();
  const [layers, setLayers] = useState<LayerRow[]>([]);
  const [type, setType] = useState<string | undefined>();
  const [progress, setProgress] = useState<{
    label: string;
    percent: number;
    status?: 'active' | 'success' | 'exception';
  } | null>(null);
  const [analysis, setAnalysis] = useState<{
    counts: Record<string, unknown>;
    runs: Record<string, unknown>[];
  } | null>(null);
  const importDecision = usePolicy('layer.import');
  const runDecision = usePolicy('analysis.run');
  const load = useCallback(async () => {
    setLayers((await get<{ layers: LayerRow[] }>('/api/layers')).layers);
    if (s.batch) setAnalysis(await get(`/api/batches/${s.batch}/analysis`));
  }, [s.batch]);
  useEffect(() => {
    void load().catch((e) => message.error(errText(e)));
  }, [load, message]);

  // XMLHttpRequest for upload progress; the server imports once the file has arrived.
  const upload = (file: File) =>
    new Promise<void>((resolve) => {
      const xhr = new XMLHttpRequest();
      xhr.open(
        'POST',
        `/api/imports/layer?type=${encodeURIComponent(type!)}&filename=${encodeURIComponent(file.name)}`,
      );
      xhr.setRequestHeader('content-type', 'application/octet-stream');
      xhr.setRequestHeader('x-csrf-token', s.me.csrfToken);
      xhr.upload.onprogress = (e) =>
        e.lengthComputable &&
        setProgress({
          label: `上传 ${file.name}`,
          percent: Math.round((e.loaded / e.total) * 100),
          status: 'active',
        });
      xhr.upload.onload = () =>
        setProgress({
          label: `正在导入 ${file.name}（读取、校验、修复、入库）`,
          percent: 100,
          status: 'active',
        });
      xhr.onload = () => {
        if (xhr.status < 300) {
          setProgress({ label: `${file.name} 导入完成`, percent: 100, status: 'success' });
          void load();
        } else {
          let msg = `导入失败（${xhr.status}）`;
          try {
            msg = JSON.parse(xhr.responseText).error.message;
          } catch {
            /* keep the status */
          }
          setProgress({ label: msg, percent: 100, status: 'exception' });
        }
        resolve();
      };
      xhr.onerror = () => {
        setProgress({ label: '网络错误', percent: 100, status: 'exception' });
        resolve();
      };
      xhr.send(file);
    });

  const runAnalysis = async (all: boolean) => {
    setProgress({ label: '正在进行叠加分析…', percent: 50, status: 'active' });
    try {
      const r = await post<{ summary: { analysed?: number; seconds?: number } }>(
        `/api/batches/${s.batch}/analysis`,
        { all },
      );
      setProgress({ label: `分析完成：${r.summary.analysed ?? ''} 个图斑`, percent: 100, status: 'success' });
      await load();
    } catch (e) {
      setProgress({ label: errText(e), percent: 100, status: 'exception' });
    }
  };

  return (
    <>
      <Space wrap style={{ marginBottom: 12 }}>
        <Select
          placeholder="图层类型"
          style={{ width: 200 }}
          value={type}
          onChange={setType}
          options={s.config.layerTypes.map((t) => ({ value: t.id, label: t.label }))}
        />
        <Upload
          showUploadList={false}
          disabled={!type || !importDecision.allow}
          beforeUpload={(f) => (void upload(f), false)}
        >
          <ActionButton icon={<UploadOutlined />} decision={importDecision} disabled={!type}>
            导入图层（.zip / .gpkg / .geojson …）
          </ActionButton>
        </Upload>
        <ActionButton decision={runDecision} onClick={() => void runAnalysis(false)}>
          分析新增与过期图斑
        </ActionButton>
        <ActionButton decision={runDecision} onClick={() => void runAnalysis(true)}>
          全部重新分析
        </ActionButton>
      </Space>
      {progress && (
        <div style={{ marginBottom: 12 }}>
          <Typography.Text>{progress.label}</Typography.Text>
          <Progress percent={progress.percent} status={progress.status} />
        </div>
      )}
      {analysis && (
        <Descriptions
          size="small"
          bordered
          column={3}
          style={{ marginBottom: 12 }}
          title="当前批次的叠加分析"
        >
          {Object.entries(analysis.counts).map(([k, v]) => (
            <Descriptions.Item key={k} label={k}>
              {typeof v === 'object' ? JSON.stringify(v) : String(v)}
            </Descriptions.Item>
          ))}
        </Descriptions>
      )}
      <Table<LayerRow>
        size="small"
        rowKey="id"
        pagination={false}
        dataSource={layers}
        columns={[
          { title: '类型', dataIndex: 'typeLabel' },
          { title: '版本', dataIndex: 'version' },
          { title: '名称', dataIndex: 'name' },
          { title: '要素数', dataIndex: 'feature_count', align: 'right' },
          { title: '导入', key: 'i', render: (_, l) => `${l.imported_by} ${fmtTime(l.imported_at)}` },
        ]}
      />
      {analysis && analysis.runs.length > 0 && (
        <Alert
          style={{ marginTop: 12 }}
          type="info"
          message={`最近一次分析：${fmtTime(String(analysis.runs[0]!.finished_at ?? analysis.runs[0]!.started_at ?? ''))}`}
        />
      )}
    </>
  );
}

function Rules() {
  const s = useSession();
  const [form, setForm] = useState<{
    rulePack: { id: string; version: string; name: string };
    verdicts: {
      id: string;
      label: string;
      description: string;
      subtypes: { id: string; label: string; description: string }[];
    }[];
    handling: { modes: { id: string; label: string; description: string }[] };
  } | null>(null);
  useEffect(() => {
    if (s.batch)
      void get<{ form: typeof form }>(`/api/batches/${s.batch}/judgement-form`).then((r) => setForm(r.form));
  }, [s.batch]);
  if (!form) return null;
  return (
    <>
      <Descriptions size="small" bordered column={3}>
        <Descriptions.Item label="规则包">{form.rulePack.name}</Descriptions.Item>
        <Descriptions.Item label="标识">{form.rulePack.id}</Descriptions.Item>
        <Descriptions.Item label="版本">{form.rulePack.version}</Descriptions.Item>
      </Descriptions>
      {form.verdicts
        .filter((v) => v.subtypes.length)
        .map((v) => (
          <Card key={v.id} size="small" title={`${v.label}：${v.description}`} style={{ marginTop: 12 }}>
            {v.subtypes.map((st) => (
              <div key={st.id}>
                <Typography.Text strong>{st.label}</Typography.Text>{' '}
                <Typography.Text type="secondary">{st.description}</Typography.Text>
              </div>
            ))}
          </Card>
        ))}
      <Card size="small" title="处理方式" style={{ marginTop: 12 }}>
        {form.handling.modes.map((m) => (
          <div key={m.id}>
            <Typography.Text strong>{m.label}</Typography.Text>{' '}
            <Typography.Text type="secondary">{m.description}</Typography.Text>
          </div>
        ))}
      </Card>
    </>
  );
}
