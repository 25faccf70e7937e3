// Walks a live supervision tree through whichChildren and renders it as text, for demos, debugging and
// the testing kit. Read-only: it only calls the supervisors it visits.

import { runtimeOf, type Caller } from './gen_server.js';
import type { Pid } from './process.js';
import { Supervisor, type ChildInfo } from './supervisor.js';

/** One node of a supervision tree, as supervisionTree finds it. */
export interface TreeNode {
  /** The child id in its supervisor; undefined for DynamicSupervisor children, which have none. */
  id: string | undefined;
  pid: Pid | 'restarting' | undefined;
  type: 'worker' | 'supervisor';
  /** The node-wide registered name of the process, if it has one. */
  name: string | null;
  /** The process label (StartOptions.label: 'gen_server', 'Supervisor', 'Task', ...), if it has one. */
  label: string | null;
  children: TreeNode[];
}

/**
 * The tree under `sup`, itself the root, labelled `rootId` (default: its registered name, else its pid).
 * A supervisor that exits mid-walk shows no children.
 */
export async function supervisionTree(caller: Caller, sup: Pid, rootId?: string): Promise<TreeNode> {
  const rt = runtimeOf(caller);
  const node = (id: string | undefined, pid: TreeNode['pid'], type: TreeNode['type']): TreeNode => {
    const info = typeof pid === 'object' ? rt.processInfo(pid) : undefined;
    return { id, pid, type, name: info?.name ?? null, label: info?.label ?? null, children: [] };
  };
  const root = node(rootId, sup, 'supervisor');
  let children: ChildInfo[];
  try {
    children = await Supervisor.whichChildren(caller, sup);
  } catch {
    return root;
  }
  for (const child of children) {
    if (child.type === 'supervisor' && typeof child.pid === 'object') {
      const sub = await supervisionTree(caller, child.pid, child.id);
      root.children.push(sub);
    } else {
      root.children.push(node(child.id, child.pid, child.type));
    }
  }
  return root;
}

/**
 * Renders a tree with box-drawing branches, one line per process: its child id, its registered name in
 * brackets when it has one, its pid and its type. A dynamic child (no id) shows its name, else its label (`gen_server`, `Task`, ...).
 *
 *   app [my.app]  <0.1.0>  supervisor
 *   ├── cache [cache]  <0.2.0>  worker
 *   └── sessions  <0.3.0>  supervisor
 *       └── session [session:42]  <0.9.0>  worker
 */
export function formatTree(node: TreeNode): string {
  const lines = [describe(node)];
  const walk = (children: TreeNode[], prefix: string): void => {
    children.forEach((child, i) => {
      const last = i === children.length - 1;
      lines.push(`${prefix}${last ? '└── ' : '├── '}${describe(child)}`);
      walk(child.children, prefix + (last ? '    ' : '│   '));
    });
  };
  walk(node.children, '');
  return lines.join('\n');
}

function describe(node: TreeNode): string {
  const title = node.id ?? node.name ?? node.label ?? String(node.pid);
  const name = node.name === null || node.name === title ? '' : ` [${node.name}]`;
  return `${title}${name}  ${String(node.pid)}  ${node.type}`;
}
