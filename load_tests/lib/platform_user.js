/**
 * PlatformUser: normal load, a member working in their own workspace (80% of the VUs).
 *
 * Registers an account and creates a workspace with a workflow and a document, then lists and reads
 * them, creates more, runs executions and follows each to its final state, and searches the
 * knowledge base. The same tasks, weights and tags as platform_load/platform_user.py.
 */
import { sleep } from 'k6';

import { EXECUTION_KEYS, WORKFLOW_KEYS, WORKSPACE_KEYS, equals } from './checks.js';
import { call, createWorkspace, health, page, query, ready, register } from './client.js';
import { pick, randomHex, words } from './random_data.js';
import { allows, existingKey, needsAccount, task, writes } from './tasks.js';

const EXECUTION_MAX_POLLS = 60;
const EXECUTION_MAX_WAIT_S = 30;

function workspace(s) {
  if (s.workspaceId === null) listWorkspaces(s);
  return s.workspaceId;
}

function listWorkspaces(s) {
  const data = page(s, '/api/v1/workspaces?limit=20', '/api/v1/workspaces', WORKSPACE_KEYS);
  if (data !== null && data.items.length && s.workspaceId === null) {
    s.workspaceId = data.items[0].id;
  }
}

function getWorkspace(s) {
  const ws = workspace(s);
  if (ws === null) return;
  call(s, 'GET', `/api/v1/workspaces/${ws}`, '/api/v1/workspaces/[id]', {
    keys: WORKSPACE_KEYS,
    extra: equals('id', ws),
  });
}

function listWorkflows(s) {
  const ws = workspace(s);
  if (ws === null) return;
  const path = `/api/v1/workspaces/${ws}/workflows?limit=20`;
  const data = page(s, path, '/api/v1/workspaces/[id]/workflows', WORKFLOW_KEYS);
  if (data !== null && !s.workflowIds.length) s.workflowIds = data.items.map((i) => i.id);
}

function newWorkflow(s) {
  const ws = workspace(s);
  if (ws === null) return;
  const steps = [
    { type: 'transform', name: 'shout', operation: 'uppercase' },
    {
      type: 'llm',
      name: 'summarise',
      model: pick(['small', 'medium']),
      prompt: `Summarise: ${words(12)}`,
      max_tokens: 64,
    },
    { type: 'transform', name: 'count', operation: 'word_count' },
  ];
  const name = `wf-${randomHex(8)}`;
  const path = `/api/v1/workspaces/${ws}/workflows`;
  const data = call(s, 'POST', path, '/api/v1/workspaces/[id]/workflows', {
    expect: 201,
    keys: WORKFLOW_KEYS,
    body: { name, description: 'load test workflow', steps },
    extra: equals('workspace_id', ws),
  });
  if (data !== null) s.workflowIds = [...s.workflowIds.slice(-9), data.id];
}

function runExecution(s) {
  if (workspace(s) === null || !s.workflowIds.length) return;
  const path = `/api/v1/workflows/${pick(s.workflowIds)}/executions`;
  const data = call(s, 'POST', path, '/api/v1/workflows/[id]/executions', {
    expect: 202,
    keys: ['id', 'status'],
    body: { input: { text: words(20) } },
    extra: equals('status', 'queued'),
  });
  if (data !== null) followExecution(s, data.id);
}

/** Poll like a client waiting for the result; the last poll fails if it never finished. */
function followExecution(s, id) {
  const started = Date.now();
  let delay = 0.1;
  for (let poll = 1; poll <= EXECUTION_MAX_POLLS; poll += 1) {
    const elapsed = (Date.now() - started) / 1000;
    const last = poll === EXECUTION_MAX_POLLS || elapsed + delay >= EXECUTION_MAX_WAIT_S;
    const data = call(s, 'GET', `/api/v1/executions/${id}`, '/api/v1/executions/[id]', {
      keys: EXECUTION_KEYS,
      extra: (d) => {
        if (d.id !== id) return `asked for execution ${id}, got ${d.id}`;
        if (d.status === 'failed') return `execution failed: ${d.error}`;
        if (last && d.status !== 'succeeded') return `execution still ${d.status}`;
        return null;
      },
    });
    if (data === null || data.status === 'succeeded' || data.status === 'failed') return;
    sleep(delay);
    delay = Math.min(delay * 1.5, 1);
  }
}

function listExecutions(s) {
  const ws = workspace(s);
  if (ws === null) return;
  const path = `/api/v1/workspaces/${ws}/executions?limit=20`;
  page(s, path, '/api/v1/workspaces/[id]/executions', EXECUTION_KEYS);
}

function newDocument(s) {
  const ws = workspace(s);
  if (ws === null) return;
  const title = `Runbook: ${words(3)}`;
  const path = `/api/v1/workspaces/${ws}/documents`;
  call(s, 'POST', path, '/api/v1/workspaces/[id]/documents', {
    expect: 201,
    keys: ['id', 'title', 'tags'],
    body: { title, content: words(80), tags: ['load-test'] },
    extra: equals('title', title),
  });
}

function listDocuments(s) {
  const ws = workspace(s);
  if (ws === null) return;
  const path = `/api/v1/workspaces/${ws}/documents?limit=20`;
  page(s, path, '/api/v1/workspaces/[id]/documents', ['id', 'title']);
}

function searchKnowledge(s) {
  const ws = workspace(s);
  if (ws === null) return;
  const q = words(1 + Math.floor(Math.random() * 2));
  const path = query(`/api/v1/workspaces/${ws}/search`, { q, limit: 10 });
  call(s, 'GET', path, '/api/v1/workspaces/[id]/search', {
    keys: ['query', 'total', 'items'],
    extra: searchCheck(q),
  });
}

function searchCheck(q) {
  return (d) => {
    if (d.query !== q) return `search answered ${d.query}, not ${q}`;
    if (!Array.isArray(d.items) || d.total < d.items.length) return 'total is below the hits';
    const scores = d.items.map((item) => item.score);
    const ranked = scores.every((score, i) => i === 0 || scores[i - 1] >= score);
    return ranked ? null : `search results are not best first: ${scores}`;
  };
}

export const PLATFORM_TASKS = [
  task(2, ['health', 'read'], health),
  task(1, ['health', 'read'], ready),
  task(4, ['read'], listWorkspaces),
  task(3, ['read'], getWorkspace),
  task(1, ['write'], createWorkspace),
  task(3, ['read'], listWorkflows),
  task(2, ['write'], newWorkflow),
  task(2, ['write', 'executions'], runExecution),
  task(2, ['read', 'executions'], listExecutions),
  task(2, ['write'], newDocument),
  task(1, ['read'], listDocuments),
  task(4, ['read', 'search'], searchKnowledge),
].filter((t) => allows(t.tags));

export function platformSession(s) {
  s.workspaceId = null;
  s.workflowIds = [];
  if (!needsAccount(PLATFORM_TASKS)) return true;
  if (!writes(PLATFORM_TASKS)) {
    s.apiKey = existingKey();
    return true;
  }
  if (!register(s)) return false;
  s.workspaceId = createWorkspace(s);
  if (s.workspaceId === null) return false;
  newWorkflow(s);
  newDocument(s);
  return true;
}
