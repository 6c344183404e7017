// The bench's peer: GraphQL Mesh v1 over the simulated sources, composed at start and served by Hive Gateway.
//
// What the tool people pick for GraphQL over REST does with the same sources, for the work it can do without our
// link table: a CRM contact by its ID (one GET), and the orders of a list of shop customers by their IDs (one
// batched POST). Each source is a JSON-Schema subgraph (`@omnigraph/json-schema`) composed by
// `@graphql-mesh/compose-cli`; the supergraph is served by Hive Gateway's runtime on node:http. Installed apart from
// the project (`npm run bench:peer-install`, bench/peer/package.json); run.ts starts it in its own process.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGatewayRuntime } from '@graphql-hive/gateway';
import { getComposedSchemaFromConfig } from '@graphql-mesh/compose-cli';
import { loadJSONSchemaSubgraph } from '@omnigraph/json-schema';
import type { JSONSchemaObject } from 'json-machete';

/** What the peer needs of each source: where it is and the headers that authenticate the hub's calls. */
export interface PeerSource {
  baseUrl: string;
  headers: Record<string, string>;
}

const nullableString: JSONSchemaObject = { type: ['string', 'null'] };
const address: JSONSchemaObject = { type: ['object', 'null'], properties: { street: nullableString, city: nullableString, zip: nullableString, country: nullableString } };

/** The CRM's contact, as GET /contacts/:id answers it (src/demo/crm.ts). */
const CONTACT_RESPONSE: JSONSchemaObject = {
  type: 'object',
  title: 'ContactResponse',
  properties: {
    contact: {
      type: 'object',
      title: 'Contact',
      properties: { id: { type: 'string' }, first_name: nullableString, last_name: nullableString, primary_email: nullableString, phone: nullableString, address, updated_at: nullableString },
    },
  },
};

/** The shop's orders of many customers, as POST /orders/batch answers it (src/demo/shop.ts). */
const ORDERS_RESPONSE: JSONSchemaObject = {
  type: 'object',
  title: 'OrdersResponse',
  properties: {
    orders: {
      type: 'array',
      items: {
        type: 'object',
        title: 'ShopOrder',
        properties: {
          id: { type: 'integer' },
          customer_id: { type: 'integer' },
          number: nullableString,
          status: nullableString,
          created_at: nullableString,
          total_cents: { type: 'integer' },
          currency: nullableString,
          line_items: { type: 'array', items: { type: 'object', title: 'ShopLineItem', properties: { sku: nullableString, title: nullableString, quantity: { type: 'integer' }, unit_price_cents: { type: 'integer' } } } },
        },
      },
    },
  },
};

const ORDERS_REQUEST: JSONSchemaObject = { type: 'object', title: 'OrdersBatchInput', properties: { customer_ids: { type: 'array', items: { type: 'integer' } } } };

/** The supergraph of the two sources the peer's queries read. */
export async function composeSupergraph(sources: { crm: PeerSource; shop: PeerSource }): Promise<string> {
  const quiet = { log() {}, info() {}, warn() {}, error() {}, debug() {}, child: () => quiet } as never;
  return getComposedSchemaFromConfig(
    {
      subgraphs: [
        {
          sourceHandler: loadJSONSchemaSubgraph('CRM', {
            endpoint: sources.crm.baseUrl,
            operationHeaders: sources.crm.headers,
            operations: [{ type: 'Query', field: 'contact', path: '/contacts/{args.id}', method: 'GET', argTypeMap: { id: { type: 'string' } }, requiredArgs: ['id'], responseSchema: CONTACT_RESPONSE }],
          }),
        },
        {
          sourceHandler: loadJSONSchemaSubgraph('Shop', {
            endpoint: sources.shop.baseUrl,
            operationHeaders: sources.shop.headers,
            operations: [{ type: 'Query', field: 'ordersBatch', path: '/orders/batch', method: 'POST', requestSchema: ORDERS_REQUEST, responseSchema: ORDERS_RESPONSE }],
          }),
        },
      ],
    },
    quiet,
  );
}

export interface RunningPeer {
  url: string;
  close(): Promise<void>;
}

/** Composes the supergraph and serves it with Hive Gateway on `host:port` (port 0 = ephemeral). */
export async function startMeshPeer(sources: { crm: PeerSource; shop: PeerSource }, listen: { host?: string; port?: number } = {}): Promise<RunningPeer> {
  const supergraph = await composeSupergraph(sources);
  const gateway = createGatewayRuntime({ supergraph, logging: false });
  const server = createServer(gateway);
  await new Promise<void>((resolve) => server.listen(listen.port ?? 0, listen.host ?? '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await gateway.dispose();
    },
  };
}
