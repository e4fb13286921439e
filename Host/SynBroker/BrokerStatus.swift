import SynAppStore

/// `syn_status` codes and a slot's failure (status and `last_error` message): the same for the broker's slots as
/// for the storage slots the worker runs.
typealias BrokerStatus = StoreStatus
typealias BrokerFailure = StoreFailure
