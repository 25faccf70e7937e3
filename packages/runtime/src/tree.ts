// Walks a live supervision tree through whichChildren and renders it as text, for demos, debugging and
// the testing kit. Read-only: it only calls the supervisors it visits.

import type { Caller } from './gen_server.js';
import type { Pid } from './process.js';
import { Supervisor, type ChildInfo } from './supervisor.js';

export interface TreeNode {
  id: string | undefined;
  pid: Pid | 'restarting' | undefined;
  type: 'worker' | 'supervisor';
  children: TreeNode[];
}

/** The tree under `sup` (itself the root, labelled `rootId`). A supervisor that exits mid-walk shows no children. */
export async function supervisionTree(caller: Caller, sup: Pid, rootId = 'root'): Promise<TreeNode> {
  const root: TreeNode = { id: rootId, pid: sup, type: 'supervisor', children: [] };
  let children: ChildInfo[];
  try {
    children = await Supervisor.whichChildren(caller, sup);
  } catch {
    return root;
  }
  for (const child of children) {
    if (child.type === 'supervisor' && typeof child.pid === 'object') {
      root.children.push(await supervisionTree(caller, child.pid, child.id ?? String(child.pid)));
    } else {
      root.children.push({ id: child.id, pid: child.pid, type: child.type, children: [] });
    }
  }
  return root;
}

/** Renders a tree with box-drawing branches: `├── id  <0.5.0>  worker`. */
export function formatTree(node: TreeNode): string {
  const lines = [`${node.id ?? '(dynamic)'}  ${String(node.pid)}  ${node.type}`];
  const walk = (children: TreeNode[], prefix: string): void => {
    children.forEach((child, i) => {
      const last = i === children.length - 1;
      lines.push(`${prefix}${last ? '└── ' : '├── '}${child.id ?? '(dynamic)'}  ${String(child.pid)}  ${child.type}`);
      walk(child.children, prefix + (last ? '    ' : '│   '));
    });
  };
  walk(node.children, '');
  return lines.join('\n');
}
