"""Read real Pegasus submit directories back into Aerie provenance.

People moving to Aerie bring years of Pegasus runs whose stampede databases are often missing
or half-loaded (Pegasus issue #1451). Everything here rebuilds the provenance from the files
Pegasus and DAGMan leave in the submit directory itself: braindump.yml, the .dag and rescue
DAGs, jobstate.log, dagman.out, the kickstart records in the job .out files, the .err files of
PegasusLite, .sub files and static.bp. The readers are pure (no database); `rebuild` joins them
into one `ImportedWorkflow` tree and `importer` writes that tree into the provenance tables.
"""
