// Live updates: the balance and new history lines from /events (server-sent events).
(function () {
  var list = document.getElementById("live");
  if (!list || !window.EventSource) return;
  var source = new EventSource(list.dataset.source);
  source.addEventListener("update", function (message) {
    var data = JSON.parse(message.data);
    ["balance", "held", "available"].forEach(function (name) {
      var element = document.getElementById(name);
      if (element) element.textContent = data.balance[name];
    });
    if (!data.row) return;
    // One line per payment: a newer event of the same one replaces its line.
    var item = document.createElement("li");
    item.dataset.transfer = data.row.transfer_id;
    Array.prototype.forEach.call(list.children, function (old) {
      if (old.dataset.transfer === item.dataset.transfer) list.removeChild(old);
    });
    [data.row.amount, data.row.party, data.row.state].forEach(function (text, index) {
      var span = document.createElement("span");
      span.className = ["amount", "party", "state"][index];
      span.textContent = text;
      item.appendChild(span);
      item.appendChild(document.createTextNode(" "));
    });
    list.insertBefore(item, list.firstChild);
  });
})();
