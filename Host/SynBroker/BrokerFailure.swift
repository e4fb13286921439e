import SynAppStore

/// A slot's failure (`syn_status` and `last_error` message): the same for the broker's slots as for the storage
/// slots the worker runs.
typealias BrokerFailure = StoreFailure
