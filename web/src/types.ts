// Shapes of the API answers the app reads (only the fields it uses).
export type Role = 'leader' | 'bureau_admin' | 'reviewer' | 'unit_officer' | 'department';

export interface User {
  id: number;
  username: string;
  displayName: string | null;
  role: Role;
  roleLabel: string;
  unit: { code: string; name: string | null } | null;
  department: { code: string; name: string | null } | null;
  mustChangePassword: boolean;
  disabled?: boolean;
  lastLoginAt?: string | null;
  createdAt?: string;
  version?: number;
}

export type Decision = { allow: true } | { allow: false; reason: string; message: string };

export interface Me {
  user: User;
  csrfToken: string;
  policies: Record<string, Decision>;
}

export interface StateInfo {
  id: string;
  label: string;
  explanation: string;
  waitingFor: string;
}
export interface Labelled {
  id: string;
  label: string;
}

export interface Basemap {
  id: string;
  name: string;
  type: 'xyz' | 'wmts';
  url: string;
  attribution?: string;
  layer?: string;
  matrixSet?: string;
  style?: string;
  format?: string;
  maxZoom?: number;
  overlay?: boolean;
}

export interface WebConfig {
  states: StateInfo[];
  transitions: Labelled[];
  verdicts: Labelled[];
  prejudgements: Labelled[];
  sources: Labelled[];
  roles: Labelled[];
  layerTypes: Labelled[];
  receipts: Record<string, { label: string; explanation: string }>;
  basemaps: Basemap[];
  policies: Record<string, Decision>;
  /** The field dictionary (older servers: absent). */
  fields?: FieldInfo[];
  /** 核查发现 a signal can be confirmed as (older servers: absent). */
  findings?: { id: string; label: string; fraud: boolean }[];
}

export interface FieldInfo {
  id: string;
  name: string;
  alias: string;
  group: string;
  unit: string;
  description: string;
  /** The names deliveries use for this field (JCBH, 监测编号 …). */
  knownAs: string[];
}

export interface Batch {
  id: number;
  slug: string;
  name: string;
  kind: 'land' | 'mineral';
  year: number;
  version?: number;
  rule_pack_id?: string;
  rule_pack_version?: string;
  milestones?: { id: string; label: string; date: string; description?: string }[];
  patch_count?: number;
}

export interface WorkItem {
  id: number;
  jcbh: string;
  source: string;
  unitCode: string | null;
  unitName: string | null;
  areaM2: number;
  geometryKind: 'polygon' | 'point';
  bbox: [number, number, number, number];
  state: string;
  stateLabel: string;
  version: number;
  verdict: string;
  parts: number;
  prejudgement: string | null;
  dueDate: string | null;
  deadlineStatus: 'open' | 'due_soon' | 'overdue' | null;
  daysOverdue: number;
  returnReason: string | null;
  returnedBy: string | null;
  returnedAt: string | null;
  submissionNo: number;
  submittedBy: string | null;
  submittedAt: string | null;
  reviewedBy: string | null;
  reviewedAt: string | null;
  receipt: 'none' | 'submitted' | 'returned' | 'passed';
  openedByReviewer: boolean;
  openedByMe: boolean;
  submittedByMe: boolean;
  updatedAt: string;
}

export interface WorkList {
  batch: { slug: string; name: string };
  today: string;
  total: number;
  items: WorkItem[];
}

export interface Unit {
  code: string;
  name: string;
  kind: string;
}
