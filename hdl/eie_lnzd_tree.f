eie_lnzd_node.sv
eie_lnzd_tree.sv
