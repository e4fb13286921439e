WorkerMain.run()
