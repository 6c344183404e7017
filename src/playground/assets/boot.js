// Mounts GraphiQL with the example the hub wrote into the page. A file rather than an inline script, so the page's
// Content-Security-Policy can forbid inline scripts altogether.
(function () {
  'use strict';
  var config = JSON.parse(document.getElementById('playground-config').textContent);
  var fetcher = GraphiQL.createFetcher({ url: window.location.pathname });
  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: config.query,
      query: config.query,
      variables: config.variables,
      headers: config.headers,
      defaultEditorToolsVisibility: 'variables',
      // An API key typed into the headers editor stays in this tab, not in the browser's storage.
      shouldPersistHeaders: false,
    }),
  );
})();
