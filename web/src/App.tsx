// The app shell: login gate, role-aware landing, the menu, and lazy pages (the map and charts
// load OpenLayers and ECharts only when opened).
import { lazy, Suspense, useCallback, useEffect, useMemo, useState } from 'react';
import { Navigate, Route, Routes, useLocation, useNavigate } from 'react-router-dom';
import { Layout, Menu, Select, Space, Spin, Dropdown, Button, Typography, Result } from 'antd';
import {
  UnorderedListOutlined,
  AuditOutlined,
  GlobalOutlined,
  DashboardOutlined,
  SettingOutlined,
  SendOutlined,
  FileDoneOutlined,
  UserOutlined,
} from '@ant-design/icons';
import { get, post, setCsrf, setUnauthenticatedHandler } from './api.ts';
import { SessionContext, landingOf, useSession, type Session } from './session.tsx';
import type { Batch, Me, WebConfig } from './types.ts';
import { LoginPage } from './pages/Login.tsx';
import { PasswordPage } from './pages/Password.tsx';

// The work lists (antd's Table) load only on their routes too. The page of the address the app
// opens on starts loading with the app itself, beside the session requests, not once the menu has
// been rendered.
const loadMapPage = () => import('./pages/MapPage.tsx');
const loadWorkList = () => import('./pages/WorkList.tsx');
const MapPage = lazy(loadMapPage);
const WorkListPage = lazy(() => loadWorkList().then((m) => ({ default: m.WorkListPage })));
const PatchPage = lazy(() => import('./pages/PatchPage.tsx'));
const OverviewPage = lazy(() => import('./pages/Overview.tsx'));
const AdminPage = lazy(() => import('./pages/Admin.tsx'));
const RoundsPage = lazy(() => import('./pages/Rounds.tsx'));
if (window.location.pathname.startsWith('/map')) void loadMapPage();
else if (/^\/(work|review|submissions)\b/.test(window.location.pathname)) void loadWorkList();

const BATCH_KEY = 'weipian.batch';

function Loading() {
  return (
    <div style={{ padding: 48, textAlign: 'center' }}>
      <Spin tip="正在载入…" size="large">
        <div style={{ height: 40 }} />
      </Spin>
    </div>
  );
}

export function App() {
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [config, setConfig] = useState<WebConfig | null>(null);
  const [batches, setBatches] = useState<Batch[]>([]);
  const [batch, setBatchState] = useState<string>(() => localStorage.getItem(BATCH_KEY) ?? '');
  const navigate = useNavigate();
  const location = useLocation();

  const load = useCallback(async () => {
    try {
      const m = await get<Me>('/api/auth/me');
      setCsrf(m.csrfToken);
      if (m.user.mustChangePassword) {
        setMe(m);
        return;
      }
      const [c, b] = await Promise.all([
        get<WebConfig>('/api/web/config'),
        get<{ batches: Batch[] }>('/api/batches'),
      ]);
      setConfig(c);
      setBatches(b.batches);
      setBatchState((cur) => (b.batches.some((x) => x.slug === cur) ? cur : (b.batches[0]?.slug ?? '')));
      setMe(m);
    } catch {
      setMe(null);
    }
  }, []);

  useEffect(() => {
    setUnauthenticatedHandler(() => setMe(null));
    void load();
  }, [load]);

  const setBatch = useCallback((slug: string) => {
    localStorage.setItem(BATCH_KEY, slug);
    setBatchState(slug);
  }, []);

  const session: Session | null = useMemo(
    () =>
      me && config
        ? {
            me,
            config,
            batches,
            batch,
            setBatch,
            refreshMe: load,
            logout: async () => {
              await post('/api/auth/logout').catch(() => undefined);
              setCsrf(null);
              setMe(null);
              navigate('/login');
            },
          }
        : null,
    [me, config, batches, batch, setBatch, load, navigate],
  );

  if (me === undefined) return <Loading />;
  if (me === null)
    return (
      <LoginPage
        onLogin={async () => {
          await load();
          const from = (location.state as { from?: string } | null)?.from;
          const m = await get<Me>('/api/auth/me').catch(() => null);
          navigate(from && from !== '/login' ? from : m ? landingOf(m.user.role) : '/', { replace: true });
        }}
      />
    );
  if (me.user.mustChangePassword) return <PasswordPage forced onDone={load} />;
  if (!session) return <Loading />;
  return (
    <SessionContext.Provider value={session}>
      <Shell />
    </SessionContext.Provider>
  );
}

const NAV = [
  {
    key: '/work',
    icon: <UnorderedListOutlined />,
    label: '本单位工作清单',
    roles: ['unit_officer', 'bureau_admin'],
  },
  { key: '/review', icon: <AuditOutlined />, label: '审核队列', roles: ['reviewer', 'bureau_admin'] },
  { key: '/submissions', icon: <SendOutlined />, label: '我的提交', roles: ['unit_officer', 'bureau_admin'] },
  {
    key: '/map',
    icon: <GlobalOutlined />,
    label: '地图',
    roles: ['unit_officer', 'reviewer', 'bureau_admin', 'leader'],
  },
  {
    key: '/overview',
    icon: <DashboardOutlined />,
    label: '总览',
    roles: ['leader', 'reviewer', 'bureau_admin', 'department', 'unit_officer'],
  },
  {
    key: '/rounds',
    icon: <FileDoneOutlined />,
    label: '报送轮次',
    roles: ['reviewer', 'bureau_admin', 'leader'],
  },
  { key: '/admin', icon: <SettingOutlined />, label: '系统管理', roles: ['bureau_admin'] },
];

function Shell() {
  const s = useSession();
  const navigate = useNavigate();
  const location = useLocation();
  const role = s.me.user.role;
  const items = NAV.filter((n) => n.roles.includes(role));
  const selected = items.find((i) => location.pathname.startsWith(i.key))?.key ?? '';
  const who = `${s.me.user.displayName ?? s.me.user.username}（${s.me.user.roleLabel}${s.me.user.unit?.name ? ` · ${s.me.user.unit.name}` : ''}）`;
  return (
    <Layout style={{ minHeight: '100%' }}>
      <Layout.Header style={{ display: 'flex', alignItems: 'center', gap: 16, padding: '0 16px' }}>
        <Typography.Text strong style={{ color: '#fff', fontSize: 16, whiteSpace: 'nowrap' }}>
          卫片执法监督检查
        </Typography.Text>
        <Menu
          theme="dark"
          mode="horizontal"
          selectedKeys={[selected]}
          items={items.map(({ key, icon, label }) => ({ key, icon, label }))}
          onClick={(e) => navigate(e.key)}
          style={{ flex: 1, minWidth: 0 }}
        />
        <Space>
          <Select
            aria-label="批次"
            value={s.batch || undefined}
            placeholder="选择批次"
            style={{ width: 200 }}
            options={s.batches.map((b) => ({ value: b.slug, label: b.name }))}
            onChange={(v) => s.setBatch(v)}
          />
          <Dropdown
            menu={{
              items: [
                { key: 'pw', label: '修改密码' },
                { key: 'out', label: '退出登录' },
              ],
              onClick: (e) => (e.key === 'out' ? void s.logout() : navigate('/password')),
            }}
          >
            <Button type="text" icon={<UserOutlined />} style={{ color: '#fff' }} data-testid="user-menu">
              {who}
            </Button>
          </Dropdown>
        </Space>
      </Layout.Header>
      <Layout.Content style={{ padding: location.pathname.startsWith('/map') ? 0 : 16 }}>
        <Suspense fallback={<Loading />}>
          <Routes>
            <Route path="/" element={<Navigate to={landingOf(role)} replace />} />
            <Route path="/login" element={<Navigate to={landingOf(role)} replace />} />
            <Route path="/work" element={<WorkListPage mode="unit" />} />
            <Route path="/review" element={<WorkListPage mode="review" />} />
            <Route path="/submissions" element={<WorkListPage mode="mine" />} />
            <Route path="/map" element={<MapPage />} />
            <Route path="/patches/:id" element={<PatchPage />} />
            <Route path="/overview" element={<OverviewPage />} />
            <Route path="/admin/*" element={<AdminPage />} />
            <Route path="/rounds" element={<RoundsPage />} />
            <Route path="/rounds/:seq" element={<RoundsPage />} />
            <Route path="/password" element={<PasswordPage onDone={() => navigate(landingOf(role))} />} />
            <Route
              path="*"
              element={
                <Result
                  status="404"
                  title="没有这个页面"
                  extra={<Button onClick={() => navigate('/')}>回到首页</Button>}
                />
              }
            />
          </Routes>
        </Suspense>
      </Layout.Content>
    </Layout>
  );
}
